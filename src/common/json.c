#include "json.h"

#include <math.h>

void json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void sep(tcet_json *j, const char *key)
{
    if (j->depth > 0) {
        if (!j->first[j->depth]) fputc(',', j->f);
        j->first[j->depth] = 0;
        if (j->pretty) {
            fputc('\n', j->f);
            for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
        }
    }
    if (key) {
        json_write_string(j->f, key);
        fputs(j->pretty ? ": " : ":", j->f);
    }
}

void json_begin(tcet_json *j, FILE *f, int pretty)
{
    j->f = f;
    j->depth = 0;
    j->pretty = pretty;
    j->first[0] = 1;
}

void json_end(tcet_json *j) { fputc('\n', j->f); }

static void open_(tcet_json *j, const char *key, char c)
{
    sep(j, key);
    fputc(c, j->f);
    if (j->depth < 63) j->depth++;
    j->first[j->depth] = 1;
}

static void close_(tcet_json *j, char c)
{
    int empty = j->first[j->depth];
    if (j->depth > 0) j->depth--;
    if (j->pretty && !empty) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
    }
    fputc(c, j->f);
}

void json_obj_open(tcet_json *j, const char *key) { open_(j, key, '{'); }
void json_obj_close(tcet_json *j) { close_(j, '}'); }
void json_arr_open(tcet_json *j, const char *key) { open_(j, key, '['); }
void json_arr_close(tcet_json *j) { close_(j, ']'); }

void json_str(tcet_json *j, const char *key, const char *v)
{
    sep(j, key);
    json_write_string(j->f, v ? v : "");
}

void json_num(tcet_json *j, const char *key, double v)
{
    sep(j, key);
    if (isfinite(v)) fprintf(j->f, "%.17g", v);
    else fputs("null", j->f);
}

void json_int(tcet_json *j, const char *key, long long v)
{
    sep(j, key);
    fprintf(j->f, "%lld", v);
}

void json_bool(tcet_json *j, const char *key, int v)
{
    sep(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(tcet_json *j, const char *key)
{
    sep(j, key);
    fputs("null", j->f);
}
