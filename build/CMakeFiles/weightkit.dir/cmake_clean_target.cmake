file(REMOVE_RECURSE
  "libweightkit.a"
)
