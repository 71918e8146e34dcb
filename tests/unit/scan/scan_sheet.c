/* scan_sheet: turns one rasterised page (a PGM from pdftoppm) into what a scanner gives back
 * after a person signed it: pen strokes on chosen lines, a blotted QR, the sheet fed rotated
 * and skewed, sensor noise and blur, grey or bilevel; written as a JPEG (for img2pdf) or a
 * single-page CCITT G4 TIFF (for tiffcp). Used by tests/scan/make_scans.sh. The degradations
 * are done here rather than with ImageMagick because at Q16 it spends 1-2 CPU seconds on each
 * operation of a 300 dpi page, minutes for a stack; this takes a few hundredths.
 *
 *   scan_sheet IN.pgm OUT.jpg|OUT.tif DPI [--rotate DEG] [--noise SIGMA] [--blur]
 *              [--bilevel] [--seed N] [--sign X1,Y1,X2,Y2]... [--date X1,Y1,X2,Y2]...
 *              [--blot X,Y,SIDE]
 * Rectangles are PDF points on an A4 page (origin bottom-left), as scan_probe areas prints. */
#include <stdio.h>

#include <jpeglib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#define PAGE_HEIGHT_PT 841.89

typedef struct sheet {
    unsigned char *px;
    int w, h;
} sheet;

static uint64_t rng_state = 88172645463325252ull;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void die(const char *what)
{
    fprintf(stderr, "scan_sheet: %s\n", what);
    exit(1);
}

static sheet read_pgm(const char *path)
{
    sheet s = {0};
    int maxval = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL || fscanf(f, "P5 %d %d %d", &s.w, &s.h, &maxval) != 3 || maxval != 255 ||
        fgetc(f) == EOF)
        die("cannot read the PGM input");
    s.px = malloc((size_t)s.w * (size_t)s.h);
    if (s.px == NULL || fread(s.px, 1, (size_t)s.w * (size_t)s.h, f) != (size_t)s.w * (size_t)s.h)
        die("short PGM input");
    fclose(f);
    return s;
}

/* A round pen of radius r at (x, y), ink grey. */
static void dab(sheet *s, double x, double y, double r, unsigned char ink)
{
    for (int j = (int)floor(y - r); j <= (int)ceil(y + r); j++)
        for (int i = (int)floor(x - r); i <= (int)ceil(x + r); i++)
            if (i >= 0 && j >= 0 && i < s->w && j < s->h &&
                (i - x) * (i - x) + (j - y) * (j - y) <= r * r &&
                s->px[(size_t)j * (size_t)s->w + (size_t)i] > ink)
                s->px[(size_t)j * (size_t)s->w + (size_t)i] = ink;
}

/* A hand-written stroke across the rectangle (points): a chain of Bézier curves through random
 * points, loops and all, about `fill` of its width; for a date a shorter and lower one. */
static void pen_stroke(sheet *s, double dpi, const double rect[4], double fill)
{
    double k = dpi / 72.0;
    double x0 = rect[0] * k, x1 = (rect[0] + (rect[2] - rect[0]) * fill) * k;
    /* From just above the rule (the area starts 4 pt above it) to 16 pt above it. */
    double ylo = (PAGE_HEIGHT_PT - (rect[1] - 3.0)) * k,
           yhi = (PAGE_HEIGHT_PT - (rect[1] + 12.0)) * k;
    double r = 0.6 * k; /* a 1.2 pt ball-point line */
    unsigned char ink = (unsigned char)(20 + 40 * uniform());
    int segments = 5 + (int)(4 * uniform());
    double px = x0, py = ylo + (yhi - ylo) * uniform();
    for (int seg = 0; seg < segments; seg++) {
        double nx = x0 + (x1 - x0) * (seg + 1) / segments;
        double ny = ylo + (yhi - ylo) * uniform();
        double c1x = px + (nx - px) * (uniform() * 2 - 0.5), c1y = ylo + (yhi - ylo) * uniform();
        double c2x = px + (nx - px) * (uniform() * 2 - 0.5), c2y = ylo + (yhi - ylo) * uniform();
        for (int t = 0; t <= 60; t++) {
            double u = t / 60.0, v = 1 - u;
            double bx = v * v * v * px + 3 * v * v * u * c1x + 3 * v * u * u * c2x + u * u * u * nx;
            double by = v * v * v * py + 3 * v * v * u * c1y + 3 * v * u * u * c2y + u * u * u * ny;
            dab(s, bx, by, r, ink);
        }
        px = nx;
        py = ny;
    }
}

/* A marker blot over most of the QR square (points): the code can no longer be read. */
static void blot(sheet *s, double dpi, double x, double y, double side)
{
    double k = dpi / 72.0;
    double cx = (x + side * 0.55) * k, cy = (PAGE_HEIGHT_PT - (y + side * 0.5)) * k;
    double rx = side * 0.42 * k, ry = side * 0.36 * k;
    for (int j = (int)(cy - ry); j <= (int)(cy + ry); j++)
        for (int i = (int)(cx - rx); i <= (int)(cx + rx); i++) {
            double dx = (i - cx) / rx, dy = (j - cy) / ry;
            if (i >= 0 && j >= 0 && i < s->w && j < s->h && dx * dx + dy * dy <= 1)
                s->px[(size_t)j * (size_t)s->w + (size_t)i] = 35;
        }
}

/* The sheet turned by deg (clockwise as seen), bilinear, white where the sheet is not. */
static sheet rotate(const sheet *in, double deg)
{
    double a = deg * M_PI / 180.0, c = cos(a), sn = sin(a);
    sheet out;
    out.w = (int)ceil(fabs(in->w * c) + fabs(in->h * sn) - 0.01);
    out.h = (int)ceil(fabs(in->w * sn) + fabs(in->h * c) - 0.01);
    out.px = malloc((size_t)out.w * (size_t)out.h);
    if (out.px == NULL)
        die("out of memory");
    double icx = in->w / 2.0, icy = in->h / 2.0, ocx = out.w / 2.0, ocy = out.h / 2.0;
    for (int j = 0; j < out.h; j++)
        for (int i = 0; i < out.w; i++) {
            double dx = i + 0.5 - ocx, dy = j + 0.5 - ocy;
            double sx = c * dx + sn * dy + icx - 0.5, sy = -sn * dx + c * dy + icy - 0.5;
            int x = (int)floor(sx), y = (int)floor(sy);
            double fx = sx - x, fy = sy - y, v = 0;
            for (int q = 0; q < 4; q++) {
                int xx = x + (q & 1), yy = y + (q >> 1);
                double wgt = ((q & 1) ? fx : 1 - fx) * ((q >> 1) ? fy : 1 - fy);
                double p = xx >= 0 && yy >= 0 && xx < in->w && yy < in->h
                               ? in->px[(size_t)yy * (size_t)in->w + (size_t)xx]
                               : 255;
                v += wgt * p;
            }
            out.px[(size_t)j * (size_t)out.w + (size_t)i] = (unsigned char)(v + 0.5);
        }
    return out;
}

static void blur3(sheet *s)
{
    unsigned char *copy = malloc((size_t)s->w * (size_t)s->h);
    if (copy == NULL)
        die("out of memory");
    memcpy(copy, s->px, (size_t)s->w * (size_t)s->h);
    for (int j = 1; j + 1 < s->h; j++)
        for (int i = 1; i + 1 < s->w; i++) {
            const unsigned char *p = copy + (size_t)j * (size_t)s->w + (size_t)i;
            int sum = 4 * p[0] + 2 * (p[-1] + p[1] + p[-s->w] + p[s->w]) + p[-s->w - 1] +
                      p[-s->w + 1] + p[s->w - 1] + p[s->w + 1];
            s->px[(size_t)j * (size_t)s->w + (size_t)i] = (unsigned char)(sum / 16);
        }
    free(copy);
}

static void noise(sheet *s, double sigma)
{
    for (size_t i = 0; i < (size_t)s->w * (size_t)s->h; i++) {
        /* sum of four 16-bit uniforms from one draw: close enough to a Gaussian, and cheap */
        uniform();
        uint64_t r = rng_state;
        double g =
            (double)((r & 0xffff) + (r >> 16 & 0xffff) + (r >> 32 & 0xffff) + (r >> 48)) / 65536.0 -
            2.0;
        double v = s->px[i] + sigma * g * 1.732 - 6; /* paper a little grey */
        s->px[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static void write_jpeg(const sheet *s, const char *path, int dpi)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        die("cannot write the JPEG");
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)s->w;
    c.image_height = (JDIMENSION)s->h;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 75, TRUE);
    c.density_unit = 1;
    c.X_density = c.Y_density = (UINT16)dpi;
    jpeg_start_compress(&c, TRUE);
    for (int j = 0; j < s->h; j++) {
        JSAMPROW row = s->px + (size_t)j * (size_t)s->w;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void write_tiff_g4(const sheet *s, const char *path, int dpi)
{
    TIFF *t = TIFFOpen(path, "w");
    if (t == NULL)
        die("cannot write the TIFF");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)s->w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)s->h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)s->h);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, (double)dpi);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, (double)dpi);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    unsigned char *row = malloc(((size_t)s->w + 7) / 8);
    if (row == NULL)
        die("out of memory");
    for (int j = 0; j < s->h; j++) {
        memset(row, 0, ((size_t)s->w + 7) / 8);
        for (int i = 0; i < s->w; i++)
            if (s->px[(size_t)j * (size_t)s->w + (size_t)i] < 128)
                row[i >> 3] |= (unsigned char)(0x80 >> (i & 7));
        if (TIFFWriteScanline(t, row, (uint32_t)j, 0) < 0)
            die("cannot write a TIFF row");
    }
    free(row);
    TIFFClose(t);
}

static void parse_rect(const char *arg, double r[4], int n)
{
    if (n == 4 ? sscanf(arg, "%lf,%lf,%lf,%lf", &r[0], &r[1], &r[2], &r[3]) != 4
               : sscanf(arg, "%lf,%lf,%lf", &r[0], &r[1], &r[2]) != 3)
        die("bad rectangle");
}

int main(int argc, char **argv)
{
    if (argc < 4)
        die("usage: scan_sheet IN.pgm OUT.jpg|OUT.tif DPI [options]");
    sheet s = read_pgm(argv[1]);
    const char *out = argv[2];
    int dpi = atoi(argv[3]);
    double deg = 0, sigma = 0, r[4];
    int blur = 0, bilevel = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--blur") == 0) {
            blur = 1;
            continue;
        }
        if (strcmp(a, "--bilevel") == 0) {
            bilevel = 1;
            continue;
        }
        if (v == NULL)
            die("option without its value");
        i++;
        if (strcmp(a, "--rotate") == 0) {
            deg = atof(v);
        } else if (strcmp(a, "--noise") == 0) {
            sigma = atof(v);
        } else if (strcmp(a, "--seed") == 0) {
            rng_state ^= strtoull(v, NULL, 10) * 0x9e3779b97f4a7c15ull;
            for (int k = 0; k < 8; k++)
                uniform();
        } else if (strcmp(a, "--sign") == 0) {
            parse_rect(v, r, 4);
            pen_stroke(&s, dpi, r, 0.45 + 0.4 * uniform());
        } else if (strcmp(a, "--date") == 0) {
            parse_rect(v, r, 4);
            pen_stroke(&s, dpi, r, 0.3 + 0.2 * uniform());
        } else if (strcmp(a, "--blot") == 0) {
            parse_rect(v, r, 3);
            blot(&s, dpi, r[0], r[1], r[2]);
        } else {
            die("unknown option");
        }
    }
    if (deg != 0) {
        sheet t = rotate(&s, deg);
        free(s.px);
        s = t;
    }
    if (blur)
        blur3(&s);
    if (sigma > 0)
        noise(&s, sigma);
    size_t n = strlen(out);
    if (n > 4 && strcmp(out + n - 4, ".tif") == 0) {
        write_tiff_g4(&s, out, dpi);
    } else {
        if (bilevel)
            for (size_t i = 0; i < (size_t)s.w * (size_t)s.h; i++)
                s.px[i] = s.px[i] < 128 ? 0 : 255;
        write_jpeg(&s, out, dpi);
    }
    free(s.px);
    return 0;
}
