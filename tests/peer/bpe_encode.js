// bpe_encode.js — HF `tokenizers` (npm) encodes a text file with a tokenizer.json:
//   node tests/peer/bpe_encode.js TOKENIZER.json TEXTFILE...
// prints the ids of encode(text, add_special_tokens = true), space-separated, one line per file
// (added tokens in the text are matched, as llama.cpp's parse_special does).
'use strict';
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
(async () => {
    const t = Tokenizer.fromFile(process.argv[2]);
    for (const f of process.argv.slice(3)) {
        const e = await t.encode(fs.readFileSync(f, 'utf8'), null, {addSpecialTokens: true});
        console.log(e.getIds().join(' '));
    }
})().catch((e) => { console.error('bpe_encode: ' + e); process.exit(1); });
