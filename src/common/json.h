/* A minimal streaming JSON writer (objects, arrays, strings, numbers).
 * Non-finite doubles are written as null (JSON has no NaN) unless the caller
 * writes them as strings. */
#ifndef TCET_JSON_H
#define TCET_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int depth;
    int first[64]; /* per level: no element written yet */
    int pretty;
} tcet_json;

void json_begin(tcet_json *j, FILE *f, int pretty);
void json_end(tcet_json *j); /* newline */
void json_obj_open(tcet_json *j, const char *key);   /* key NULL inside arrays / top */
void json_obj_close(tcet_json *j);
void json_arr_open(tcet_json *j, const char *key);
void json_arr_close(tcet_json *j);
void json_str(tcet_json *j, const char *key, const char *v);
void json_num(tcet_json *j, const char *key, double v);  /* %.17g, null if non-finite */
void json_int(tcet_json *j, const char *key, long long v);
void json_bool(tcet_json *j, const char *key, int v);
void json_null(tcet_json *j, const char *key);
/* Escape s as a JSON string literal (with quotes) into f. */
void json_write_string(FILE *f, const char *s);

#endif
