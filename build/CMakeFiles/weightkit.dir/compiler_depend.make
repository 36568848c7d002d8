# Empty compiler generated dependencies file for weightkit.
# This may be replaced when dependencies are built.
