# tokenize_corpus.py — the edge-case texts of the tokenizer peer tests (tests/peer/tokenize_*.sh),
# one UTF-8 file each (e00.txt ...; e00 is the empty text):
#   /usr/bin/python3 tests/peer/tokenize_corpus.py DIR
import os, sys

CASES = [
    "", " ", "  ", "\n", " \n ", "a", " leading", "trailing ", "multiple   spaces  here", "\t\ttabs\t",
    "12345 1,000.50 3.14159 0000000", "😀", "🦙🦙 👩‍👩‍👧 🇫🇷", "日本語のテキスト、中文，한국어", "e\u0301 a\u0308 n\u0303 \u0915\u093f",
    "<s> </s> <unk>", "<0x41> <0x0A>", "\u2581", "\u2581\u2581x \u2581", "\u00a0nbsp\u2003em\u3000ideographic",
    "line1\r\nline2\rline3\n\n\n", "nul\x00byte", "Hello World HELLO world", "   \n\n   ", "ǅ Ⅻ ½ ٣٤٥ ①",
    "Ελληνικά Русский עברית العربية हिन्दी ไทย", "a" * 300, " " * 50 + "x", "x" + "\n" * 20,
    "I've they'RE don't 'S 'll", "```python\nprint('hi')\n```", "\U0010ffff\ue000", "ß ẞ ﬁ ſ 'ſ K",
    "\u0085next line\u2028sep\u000b\u000c", "$+<=>^`|~ !\"#%&*,-./:;?@[\\]_{}", "\t \n \t\n\t",
]
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
for i, c in enumerate(CASES):
    with open(os.path.join(d, "e%02d.txt" % i), "w", encoding="utf-8", newline="") as f:
        f.write(c)
