// tokenizers_check.js — run by tests/peer/tokenizers.sh with NODE_PATH set to an npm install
// of HF `tokenizers` (the Rust crate's node bindings).  Not a test by itself.
//
//   node tokenizers_check.js TOKENIZER_JSON RESAVED_JSON TEXTS_JSON
//
// Loads TOKENIZER_JSON (Tokenizer.fromFile: the crate's own deserializer, which refuses unknown
// keys, bad merges and vocab holes), saves it again with pretty = true to RESAVED_JSON, and
// prints one JSON line per text of TEXTS_JSON (an array of strings): the ids without special
// tokens, the ids with them, and the ids of the pair (text, text) with them.
"use strict";
const { Tokenizer } = require("tokenizers");

async function main() {
  const [src, resaved, textsFile] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(src);
  tok.save(resaved, true);
  const texts = JSON.parse(require("fs").readFileSync(textsFile, "utf8"));
  for (const t of texts) {
    const plain = (await tok.encode(t, null, { addSpecialTokens: false })).getIds();
    const special = (await tok.encode(t, null, { addSpecialTokens: true })).getIds();
    const pair = (await tok.encode(t, t, { addSpecialTokens: true })).getIds();
    console.log(JSON.stringify({ plain, special, pair }));
  }
}

main().catch((e) => {
  console.error("tokenizers_check.js: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
