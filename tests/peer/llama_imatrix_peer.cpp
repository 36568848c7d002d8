// llama_imatrix_peer.cpp — the real llama.cpp importance-matrix path for
// tests/peer/quantize_imatrix.sh, built against the npm package's prebuilt
// libllama + libllama-common and the headers of the same release, and
// against libweightkit.a (to compare our reader with llama.cpp's loader).
//
//   llama_imatrix_peer weights IMATRIX
//       load IMATRIX with llama.cpp's common_imatrix_load and with
//       wk_imatrix_open; turn the entries into weights as llama-quantize's
//       load_imatrix does (copied below: it lives in the tool, not a library)
//       and compare them with wk_imatrix_weights bit for bit, entry by entry.
//   llama_imatrix_peer quantize IN OUT FTYPE NTHREAD IMATRIX|none [include|exclude NAME]
//           [tt PATTERN=TYPEID] [kv KEY=TYPE:VALUE] [pure 1] ...
//       llama_model_quantize with those weights and the quantize.imatrix.*
//       KV overrides llama-quantize adds (what `llama-quantize --imatrix
//       IMATRIX [--include-weights|--exclude-weights NAME]` runs); "none":
//       without an imatrix.
// Exit 0 on success, 1 on failure or any difference.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "imatrix-loader.h"
#include "llama.h"

extern "C" {
#include "wk_imatrix.h"
}

typedef std::unordered_map<std::string, std::vector<float>> weights_map;

// llama-quantize's load_imatrix (tools/quantize/quantize.cpp), without the logging;
// *datasets and *chunks as it returns them.
static bool load_weights(const std::string &file, weights_map &out,
                         std::vector<std::string> *datasets = nullptr, int *chunks = nullptr)
{
    common_imatrix loaded;
    if (!common_imatrix_load(file, loaded)) return false;
    if (datasets) *datasets = loaded.datasets;
    if (chunks) *chunks = loaded.chunk_count;
    if (!loaded.is_legacy && !loaded.has_metadata) return false;
    for (const auto &[name, entry] : loaded.entries) {
        auto &e = out[name];
        e.resize(entry.sums.size());
        if (!loaded.is_legacy) {
            const int64_t ncounts = entry.counts.size();
            const int64_t ne0 = (int64_t)entry.sums.size() / ncounts;
            for (int64_t j = 0; j < ncounts; ++j) {
                const float count = (float)entry.counts[j];
                for (int64_t i = 0; i < ne0; ++i)
                    e[j * ne0 + i] = count > 0.0f ? entry.sums[j * ne0 + i] / count : 1;
            }
        } else {
            const int64_t ncall = entry.counts.empty() ? 0 : entry.counts[0];
            for (size_t i = 0; i < entry.sums.size(); ++i)
                e[i] = ncall > 0 ? entry.sums[i] / ncall : entry.sums[i];
        }
    }
    return true;
}

static int cmd_weights(const char *file)
{
    weights_map ref;
    if (!load_weights(file, ref)) { fprintf(stderr, "llama.cpp cannot load %s\n", file); return 1; }
    wk_err err;
    wk_imatrix *im = wk_imatrix_open(file, &err);
    if (!im) { fprintf(stderr, "weightkit: %s\n", err.msg); return 1; }
    int bad = 0;
    size_t values = 0;
    if (wk_imatrix_count(im) != ref.size()) {
        fprintf(stderr, "%s: %zu entries, llama.cpp has %zu\n", file, wk_imatrix_count(im), ref.size());
        bad = 1;
    }
    for (size_t i = 0; i < wk_imatrix_count(im) && !bad; i++) {
        auto it = ref.find(wk_imatrix_name_at(im, i));
        if (it == ref.end() || (size_t)wk_imatrix_size_at(im, i) != it->second.size()) {
            fprintf(stderr, "%s: entry %s missing or of another size in llama.cpp's\n", file,
                    wk_imatrix_name_at(im, i));
            bad = 1;
            break;
        }
        std::vector<float> w(it->second.size());
        if (wk_imatrix_weights(im, i, w.data(), &err)) { fprintf(stderr, "%s\n", err.msg); bad = 1; break; }
        if (memcmp(w.data(), it->second.data(), w.size() * sizeof(float))) {
            fprintf(stderr, "%s: weights of %s differ\n", file, wk_imatrix_name_at(im, i));
            bad = 1;
        }
        values += w.size();
    }
    wk_imatrix_close(im);
    if (!bad) printf("%s: %zu entries, %zu weights identical to llama-quantize's\n", file, ref.size(), values);
    return bad;
}

static void quiet(enum ggml_log_level l, const char *t, void *) { if (l >= GGML_LOG_LEVEL_ERROR || getenv("WK_LLAMA_LOG")) fputs(t, stderr); }

static int cmd_quantize(int argc, char **argv)
{
    weights_map w;
    std::vector<std::string> datasets;
    int chunks = 0;
    if (strcmp(argv[6], "none") && !load_weights(argv[6], w, &datasets, &chunks)) {
        fprintf(stderr, "llama.cpp cannot load %s\n", argv[6]);
        return 1;
    }
    // extra arguments, in pairs: include NAME | exclude NAME (prepare_imatrix's substring
    // filters), tt PATTERN=TYPEID (--tensor-type, pattern lower-cased as parse_tensor_type),
    // kv KEY=TYPE:VALUE (--override-kv, string_parse_kv_override), pure 1,
    // requant 1 (--allow-requantize)
    std::vector<std::string> tt_names;
    std::vector<llama_model_tensor_override> tt;
    std::vector<llama_model_kv_override> user_kv;
    bool pure = false, requant = false;
    for (int a = 7; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "include") || !strcmp(argv[a], "exclude")) {
            const bool inc = !strcmp(argv[a], "include");
            for (auto it = w.begin(); it != w.end();)
                if ((it->first.find(argv[a + 1]) != std::string::npos) != inc) it = w.erase(it); else ++it;
        } else if (!strcmp(argv[a], "tt")) {
            const char *eq = strchr(argv[a + 1], '=');
            std::string n(argv[a + 1], eq - argv[a + 1]);
            for (auto &c : n) c = (char)tolower((unsigned char)c);
            tt_names.push_back(n);
            tt.push_back({ nullptr, (enum ggml_type)atoi(eq + 1) });
        } else if (!strcmp(argv[a], "kv")) {
            if (!string_parse_kv_override(argv[a + 1], user_kv)) return 1;
        } else if (!strcmp(argv[a], "pure")) {
            pure = true;
        } else if (!strcmp(argv[a], "requant")) {
            requant = true;
        }
    }
    for (size_t i = 0; i < tt.size(); i++) tt[i].pattern = tt_names[i].c_str();
    if (!tt.empty()) tt.push_back({ nullptr, GGML_TYPE_COUNT });
    std::vector<llama_model_imatrix_data> data;
    for (auto &[name, v] : w) data.push_back({ name.c_str(), v.data(), v.size() });
    data.push_back({ nullptr, nullptr, 0 });
    // llama-quantize's kv_overrides for an imatrix (tools/quantize/quantize.cpp main)
    std::vector<llama_model_kv_override> kvo = user_kv;   // the user's first, as llama-quantize
    if (!w.empty()) {
        llama_model_kv_override o;
        memset(&o, 0, sizeof o);
        strcpy(o.key, "quantize.imatrix.file");
        o.tag = LLAMA_KV_OVERRIDE_TYPE_STR;
        strncpy(o.val_str, argv[6], 127);
        o.val_str[127] = 0;
        kvo.push_back(o);
        if (!datasets.empty()) {
            memset(&o, 0, sizeof o);
            strcpy(o.key, "quantize.imatrix.dataset");
            o.tag = LLAMA_KV_OVERRIDE_TYPE_STR;
            strncpy(o.val_str, datasets[0].c_str(), 127);
            o.val_str[127] = 0;
            kvo.push_back(o);
        }
        memset(&o, 0, sizeof o);
        strcpy(o.key, "quantize.imatrix.entries_count");
        o.tag = LLAMA_KV_OVERRIDE_TYPE_INT;
        o.val_i64 = (int64_t)w.size();
        kvo.push_back(o);
        if (chunks > 0) {
            memset(&o, 0, sizeof o);
            strcpy(o.key, "quantize.imatrix.chunks_count");
            o.tag = LLAMA_KV_OVERRIDE_TYPE_INT;
            o.val_i64 = chunks;
            kvo.push_back(o);
        }
    }
    if (!kvo.empty()) {
        kvo.emplace_back();
        kvo.back().key[0] = 0;
    }
    llama_log_set(quiet, nullptr);
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = (enum llama_ftype)atoi(argv[4]);
    p.nthread = atoi(argv[5]);
    p.imatrix = w.empty() ? nullptr : data.data();
    p.kv_overrides = kvo.empty() ? nullptr : kvo.data();
    p.tt_overrides = tt.empty() ? nullptr : tt.data();
    p.pure = pure;
    p.allow_requantize = requant;
    uint32_t rc = llama_model_quantize(argv[2], argv[3], &p);
    if (rc) fprintf(stderr, "llama_model_quantize(%s, ftype %s, imatrix %s) failed\n", argv[2], argv[4], argv[6]);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "weights")) return cmd_weights(argv[2]);
    if (argc >= 7 && argc % 2 == 1 && !strcmp(argv[1], "quantize")) return cmd_quantize(argc, argv);
    fprintf(stderr, "usage: llama_imatrix_peer weights IMATRIX | quantize IN OUT FTYPE NTHREAD IMATRIX|none "
            "[include|exclude NAME | tt PATTERN=TYPEID | kv KEY=TYPE:VALUE | pure 1]...\n");
    return 2;
}
