/* wk_eval_svg.c — the KLD / PPL-ratio vs bits-per-weight plot (wk_eval_svg.h). */
#include "wk_eval_svg.h"
#include "wk_io.h"

#include <math.h>
#include <string.h>

typedef struct { double x0, x1, y0, y1, bmin, bmax, lo, hi; } frame;

static double px(const frame *f, double bpw)
{
    return f->x0 + (bpw - f->bmin) / (f->bmax - f->bmin) * (f->x1 - f->x0);
}

static double py(const frame *f, double v)
{
    return f->y1 - (v - f->lo) / (f->hi - f->lo) * (f->y1 - f->y0);
}

static void put_escaped(wk_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': wk_buf_puts(b, "&lt;"); break;
        case '>': wk_buf_puts(b, "&gt;"); break;
        case '&': wk_buf_puts(b, "&amp;"); break;
        case '"': wk_buf_puts(b, "&quot;"); break;
        default: wk_buf_putc(b, (uint8_t)*s);
        }
    }
}

/* Frame, grid and labels of one panel; ticks every `step` on y (log: decades). */
static void axes(wk_buf *b, const frame *f, int logy, const char *ylabel)
{
    wk_buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n",
                  f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
    for (double t = ceil(f->bmin); t <= f->bmax; t += 1)
        wk_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                      "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n",
                      px(f, t), f->y0, px(f, t), f->y1, px(f, t), f->y1 + 15, t);
    const double step = logy ? 1 : (f->hi - f->lo) / 5;
    for (int k = 0; k <= (int)lround((f->hi - f->lo) / step); k++) {
        const double v = f->lo + k * step;
        wk_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                      f->x0, py(f, v), f->x1, py(f, v));
        if (logy)
            wk_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", f->x0 - 5,
                          py(f, v) + 4, (int)lround(v));
        else
            wk_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", f->x0 - 5,
                          py(f, v) + 4, v);
    }
    wk_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">bits per weight</text>\n",
                  (f->x0 + f->x1) / 2, f->y1 + 32);
    wk_buf_printf(b, "<text transform=\"translate(%.0f,%.0f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                  f->x0 - 48, (f->y0 + f->y1) / 2, ylabel);
}

static void point(wk_buf *b, const frame *f, double x, double y, int filled, const char *label,
                  const char *what, double v)
{
    wk_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" stroke=\"#1f77b4\"><title>",
                  px(f, x), py(f, y), filled ? "#1f77b4" : "white");
    put_escaped(b, label);
    wk_buf_printf(b, ": %s %.6g at %.3f bpw</title></circle>\n", what, v, x);
    if (filled) {
        wk_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">", px(f, x) + 6, py(f, y) - 5);
        put_escaped(b, label);
        wk_buf_puts(b, "</text>\n");
    }
}

/* x range: whole bits around every bpw; log KLD range: whole decades. */
static void ranges(const wk_eval_point *p, size_t n, frame *k, frame *r)
{
    double bmin = INFINITY, bmax = -INFINITY, lo = INFINITY, hi = -INFINITY, rlo = 1, rhi = 1;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(p[i].bpw)) {
            bmin = fmin(bmin, p[i].bpw);
            bmax = fmax(bmax, p[i].bpw);
        }
        const double v[2] = { p[i].kld_mean, p[i].kld_p99 };
        for (int j = 0; j < 2; j++)
            if (v[j] > 0 && isfinite(v[j])) {
                lo = fmin(lo, log10(v[j]));
                hi = fmax(hi, log10(v[j]));
            }
        if (isfinite(p[i].ppl_ratio)) {
            rlo = fmin(rlo, p[i].ppl_ratio);
            rhi = fmax(rhi, p[i].ppl_ratio);
        }
    }
    if (!isfinite(bmin)) bmin = bmax = 4;
    k->bmin = r->bmin = floor(bmin) - 1;
    k->bmax = r->bmax = ceil(bmax) + 1;
    if (!isfinite(lo)) lo = hi = -3;
    k->lo = floor(lo);
    k->hi = ceil(hi) > k->lo ? ceil(hi) : k->lo + 1;
    const double pad = (rhi - rlo) * 0.1 + 1e-3;
    r->lo = rlo - pad;
    r->hi = rhi + pad;
}

int wk_eval_svg_render(wk_buf *b, const wk_eval_point *p, size_t n, const char *title, wk_err *err)
{
    WK_FAIL_IF(n == 0, err, WK_E_USAGE, "SVG plot: no models");
    frame k = { .x0 = 80, .x1 = 470, .y0 = 50, .y1 = 370 }, r = { .x0 = 570, .x1 = 940, .y0 = 50, .y1 = 370 };
    ranges(p, n, &k, &r);
    wk_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"420\" "
                  "viewBox=\"0 0 960 420\" font-family=\"sans-serif\" font-size=\"11\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                  "<text x=\"80\" y=\"24\" font-size=\"14\">");
    put_escaped(b, title ? title : "wk-eval kld");
    wk_buf_puts(b, " (left: KLD mean filled, 99th percentile open; right: PPL(Q)/PPL(base))</text>\n");
    axes(b, &k, 1, "KL divergence vs base (log)");
    axes(b, &r, 0, "PPL(Q) / PPL(base)");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i].bpw)) continue;
        if (p[i].kld_p99 > 0 && isfinite(p[i].kld_p99))
            point(b, &k, p[i].bpw, log10(p[i].kld_p99), 0, p[i].label, "KLD p99", p[i].kld_p99);
        if (p[i].kld_mean > 0 && isfinite(p[i].kld_mean))
            point(b, &k, p[i].bpw, log10(p[i].kld_mean), 1, p[i].label, "KLD mean", p[i].kld_mean);
        if (isfinite(p[i].ppl_ratio))
            point(b, &r, p[i].bpw, p[i].ppl_ratio, 1, p[i].label, "PPL ratio", p[i].ppl_ratio);
    }
    wk_buf_puts(b, "</svg>\n");
    return wk_buf_check(b, err);
}

int wk_eval_svg_write(const char *path, const wk_eval_point *p, size_t n, const char *title,
                      const wk_inputs *inputs, wk_err *err)
{
    wk_buf b;
    wk_buf_init(&b);
    int rc = -1;
    wk_out *o = NULL;
    WK_TRY_GOTO(wk_eval_svg_render(&b, p, n, title, err), done);
    o = wk_out_open(path, inputs, err);
    WK_TRY_GOTO(!o || wk_out_write(o, b.data, b.len, err) ? -1 : 0, done);
    rc = wk_out_commit(o, err);
    o = NULL;
done:
    wk_out_abort(o);
    wk_buf_free(&b);
    return rc;
}
