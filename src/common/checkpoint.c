/* HDF5 checkpoint of a search (layout: docs/checkpoint.md). */
#include "common/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "common/error.h"
#include "tcet_version.h"

enum { USERBLOCK = 512 }; /* HDF5 user block holding the whole-file seal */

static void free_cands(tcet_cand *c, size_t n)
{
    for (size_t i = 0; i < n; i++) tcet_cand_free(&c[i]);
    free(c);
}

void tcet_checkpoint_free(tcet_checkpoint *ck)
{
    free(ck->config_text);
    free_cands(ck->population, ck->npop);
    free_cands(ck->history, ck->nhist);
    free_cands(ck->pending, ck->npending);
    memset(ck, 0, sizeof *ck);
}

/* ---- content hash (FNV-1a 64): detects corruption HDF5 cannot see ------ */
typedef struct { uint64_t h; } fnv;
static void fnv_bytes(fnv *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 0x100000001b3ULL;
    }
}
static void fnv_str(fnv *f, const char *s)
{
    if (!s) s = "";
    fnv_bytes(f, s, strlen(s) + 1);
}
static void fnv_cands(fnv *f, const tcet_cand *c, size_t n)
{
    fnv_bytes(f, &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        fnv_bytes(f, &c[i].id, 8);
        fnv_bytes(f, &c[i].parent, 8);
        fnv_bytes(f, &c[i].birth, 8);
        fnv_str(f, c[i].structure);
        fnv_bytes(f, &c[i].score, 8);
        fnv_bytes(f, &c[i].raw_score, 8);
        fnv_bytes(f, &c[i].params, 8);
        fnv_bytes(f, &c[i].flops, 8);
        fnv_bytes(f, &c[i].latency, 8);
        fnv_bytes(f, &c[i].seconds, 8);
        fnv_bytes(f, &c[i].layers, 4);
        fnv_bytes(f, &c[i].status, 4);
        fnv_str(f, c[i].reason);
    }
}
static uint64_t content_hash(const tcet_checkpoint *ck)
{
    fnv f = {0xcbf29ce484222325ULL};
    int32_t fmt = ck->format_version, fin = ck->finished;
    fnv_bytes(&f, &fmt, 4);
    fnv_str(&f, ck->tcet_version);
    fnv_str(&f, ck->config_text);
    fnv_bytes(&f, &ck->next_iter, 8);
    fnv_bytes(&f, &ck->committed, 8);
    fnv_bytes(&f, ck->rng.s, sizeof ck->rng.s);
    fnv_bytes(&f, &ck->naswot_seed, 8);
    fnv_bytes(&f, ck->counts, sizeof ck->counts);
    fnv_bytes(&f, &fin, 4);
    fnv_bytes(&f, &ck->elapsed, 8);
    fnv_bytes(&f, &ck->events_offset, 8);
    fnv_cands(&f, ck->population, ck->npop);
    fnv_cands(&f, ck->history, ck->nhist);
    fnv_cands(&f, ck->pending, ck->npending);
    return f.h;
}

/* ---- types ------------------------------------------------------------- */
static hid_t make_cand_type(void)
{
    hid_t str = H5Tcopy(H5T_C_S1);
    if (str < 0) return -1;
    if (H5Tset_size(str, H5T_VARIABLE) < 0 || H5Tset_cset(str, H5T_CSET_UTF8) < 0) {
        H5Tclose(str);
        return -1;
    }
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(tcet_cand));
    herr_t e = 0;
    e |= H5Tinsert(t, "id", HOFFSET(tcet_cand, id), H5T_NATIVE_INT64);
    e |= H5Tinsert(t, "parent", HOFFSET(tcet_cand, parent), H5T_NATIVE_INT64);
    e |= H5Tinsert(t, "birth", HOFFSET(tcet_cand, birth), H5T_NATIVE_INT64);
    e |= H5Tinsert(t, "structure", HOFFSET(tcet_cand, structure), str);
    e |= H5Tinsert(t, "score", HOFFSET(tcet_cand, score), H5T_NATIVE_DOUBLE);
    e |= H5Tinsert(t, "raw_score", HOFFSET(tcet_cand, raw_score), H5T_NATIVE_DOUBLE);
    e |= H5Tinsert(t, "params", HOFFSET(tcet_cand, params), H5T_NATIVE_DOUBLE);
    e |= H5Tinsert(t, "flops", HOFFSET(tcet_cand, flops), H5T_NATIVE_DOUBLE);
    e |= H5Tinsert(t, "latency", HOFFSET(tcet_cand, latency), H5T_NATIVE_DOUBLE);
    e |= H5Tinsert(t, "seconds", HOFFSET(tcet_cand, seconds), H5T_NATIVE_DOUBLE);
    e |= H5Tinsert(t, "layers", HOFFSET(tcet_cand, layers), H5T_NATIVE_INT32);
    e |= H5Tinsert(t, "status", HOFFSET(tcet_cand, status), H5T_NATIVE_INT32);
    e |= H5Tinsert(t, "reason", HOFFSET(tcet_cand, reason), str);
    H5Tclose(str);
    if (t < 0 || e < 0) {
        if (t >= 0) H5Tclose(t);
        return -1;
    }
    return t;
}

static hid_t vlen_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* ---- write --------------------------------------------------------------- */
static int write_attr(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    CHECK_H5(sp, "H5Screate for attribute %s", name);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(sp);
    CHECK_H5(a, "H5Acreate2 %s", name);
    herr_t e = H5Awrite(a, type, v);
    H5Aclose(a);
    CHECK_H5(e, "H5Awrite %s", name);
    return 0;
}

static int write_str_attr(hid_t loc, const char *name, const char *s)
{
    hid_t t = vlen_str_type();
    CHECK_H5(t, "string type");
    int rc = write_attr(loc, name, t, &s);
    H5Tclose(t);
    return rc;
}

/* A chunked, extendible 1-D dataset (so history can grow in place; tools may
 * append) with Fletcher-32 checksums on the chunks. */
static int write_cands(hid_t f, const char *name, hid_t type, const tcet_cand *c, size_t n)
{
    hsize_t dims[1] = {n}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {n < 1 ? 1 : n > 4096 ? 4096 : n};
    int rc = TCET_ERR_RUNTIME;
    hid_t sp = -1, dcpl = -1, d = -1;
    CHECK_H5_GOTO(sp = H5Screate_simple(1, dims, maxd), out, TCET_ERR_RUNTIME, "dataspace for /%s", name);
    CHECK_H5_GOTO(dcpl = H5Pcreate(H5P_DATASET_CREATE), out, TCET_ERR_RUNTIME, "dcpl");
    CHECK_H5_GOTO(H5Pset_chunk(dcpl, 1, chunk), out, TCET_ERR_RUNTIME, "chunk /%s", name);
    CHECK_H5_GOTO(H5Pset_fletcher32(dcpl), out, TCET_ERR_RUNTIME, "fletcher32 /%s", name);
    CHECK_H5_GOTO(d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT), out, TCET_ERR_RUNTIME,
                  "H5Dcreate2 /%s", name);
    if (n) CHECK_H5_GOTO(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c), out, TCET_ERR_RUNTIME,
                         "H5Dwrite /%s", name);
    rc = 0;
out:
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

static int write_u64_array(hid_t f, const char *name, const uint64_t *v, size_t n)
{
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    CHECK_H5(sp, "dataspace /%s", name);
    hid_t d = H5Dcreate2(f, name, H5T_NATIVE_UINT64, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(sp);
    CHECK_H5(d, "H5Dcreate2 /%s", name);
    herr_t e = H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    CHECK_H5(e, "H5Dwrite /%s", name);
    return 0;
}

static int write_file(const char *tmp, const tcet_checkpoint *ck)
{
    int rc = TCET_ERR_RUNTIME;
    hid_t fapl = -1, fcpl = -1, f = -1, ct = -1;
    CHECK_H5_GOTO(fapl = H5Pcreate(H5P_FILE_ACCESS), out, TCET_ERR_RUNTIME, "fapl");
    CHECK_H5_GOTO(fcpl = H5Pcreate(H5P_FILE_CREATE), out, TCET_ERR_RUNTIME, "fcpl");
    CHECK_H5_GOTO(H5Pset_userblock(fcpl, USERBLOCK), out, TCET_ERR_RUNTIME, "userblock");
    /* v1.8+ object headers carry metadata checksums. */
    CHECK_H5_GOTO(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), out, TCET_ERR_RUNTIME, "libver");
    /* A fresh file (O_EXCL): whatever was left under this name, a link
     * included, is removed, never written through. */
    if (unlink(tmp) && errno != ENOENT) {
        rc = TCET_FAIL(TCET_ERR_RUNTIME, "cannot remove the stale %s: %s", tmp, strerror(errno));
        goto out;
    }
    CHECK_H5_GOTO(f = H5Fcreate(tmp, H5F_ACC_EXCL, fcpl, fapl), out, TCET_ERR_RUNTIME,
                  "cannot create %s (hint: is the run directory writable?)", tmp);
    CHECK_H5_GOTO(ct = make_cand_type(), out, TCET_ERR_RUNTIME, "candidate type");
    int32_t fmt = ck->format_version, fin = ck->finished;
    uint64_t hash = content_hash(ck);
    if (write_attr(f, "format_version", H5T_NATIVE_INT32, &fmt) || write_str_attr(f, "tcet_version", ck->tcet_version) ||
        write_str_attr(f, "config", ck->config_text) || write_attr(f, "next_iter", H5T_NATIVE_UINT64, &ck->next_iter) ||
        write_attr(f, "committed", H5T_NATIVE_UINT64, &ck->committed) ||
        write_attr(f, "naswot_seed", H5T_NATIVE_UINT64, &ck->naswot_seed) ||
        write_attr(f, "finished", H5T_NATIVE_INT32, &fin) || write_attr(f, "elapsed", H5T_NATIVE_DOUBLE, &ck->elapsed) ||
        write_attr(f, "events_offset", H5T_NATIVE_UINT64, &ck->events_offset) ||
        write_attr(f, "content_hash", H5T_NATIVE_UINT64, &hash))
        goto out;
    if (ck->backend[0]) {
        int32_t thr = ck->threads;
        if (write_str_attr(f, "backend", ck->backend) || write_attr(f, "threads", H5T_NATIVE_INT32, &thr)) goto out;
    }
    if (ck->outcome[0] && write_str_attr(f, "outcome", ck->outcome)) goto out;
    if (write_u64_array(f, "rng_state", ck->rng.s, 4) || write_u64_array(f, "counts", ck->counts, TCET_CAND_NSTATUS))
        goto out;
    {
        char names[256] = "";
        for (int i = 0; i < TCET_CAND_NSTATUS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "", tcet_cand_status_name(i));
        hid_t d = H5Dopen2(f, "counts", H5P_DEFAULT);
        CHECK_H5_GOTO(d, out, TCET_ERR_RUNTIME, "reopen /counts");
        int r2 = write_str_attr(d, "status_names", names);
        H5Dclose(d);
        if (r2) goto out;
    }
    if (write_cands(f, "population", ct, ck->population, ck->npop) ||
        write_cands(f, "history", ct, ck->history, ck->nhist) ||
        write_cands(f, "pending", ct, ck->pending, ck->npending))
        goto out;
    CHECK_H5_GOTO(H5Fflush(f, H5F_SCOPE_GLOBAL), out, TCET_ERR_RUNTIME, "cannot write %s (H5Fflush)", tmp);
    rc = 0;
out:
    if (ct >= 0) H5Tclose(ct);
    if (f >= 0 && H5Fclose(f) < 0 && rc == 0) rc = tcet_fail_h5(TCET_ERR_RUNTIME, __FILE__, __LINE__, "H5Fclose %s", tmp);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    return rc;
}

/* ---- whole-file seal in the HDF5 user block ------------------------------
 * The first USERBLOCK bytes (ignored by HDF5, h5dump and h5py) hold
 * "TCET-CHECKPOINT <format> <bytes after the block> <hash>\n".  It is checked
 * before HDF5 parses anything, so a truncated or corrupted file is refused
 * without handing damaged data to the library (which may read out of bounds
 * on a corrupted global heap). */
static uint64_t hash_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static int seal_hash(int fd, uint64_t *size, uint64_t *hash)
{
    static unsigned char buf[1 << 20];
    uint64_t h = 0xcbf29ce484222325ULL, total = 0;
    off_t off = USERBLOCK;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0) return -1;
        if (r == 0) break;
        h = hash_bytes(h, buf, (size_t)r);
        off += r;
        total += (uint64_t)r;
    }
    *size = total;
    *hash = h;
    return 0;
}

static int seal(const char *tmp)
{
    int fd = open(tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return TCET_FAIL(TCET_ERR_RUNTIME, "cannot open %s: %s", tmp, strerror(errno));
    uint64_t size, hash;
    char hdr[USERBLOCK];
    memset(hdr, 0, sizeof hdr);
    int rc = 0;
    if (seal_hash(fd, &size, &hash)) {
        rc = TCET_FAIL(TCET_ERR_RUNTIME, "read %s: %s", tmp, strerror(errno));
    } else {
        snprintf(hdr, sizeof hdr, "TCET-CHECKPOINT %d %llu %016llx\n", TCET_CKPT_FORMAT, (unsigned long long)size,
                 (unsigned long long)hash);
        ssize_t w = pwrite(fd, hdr, sizeof hdr, 0);
        if (w != (ssize_t)sizeof hdr)
            rc = TCET_FAIL(TCET_ERR_RUNTIME, "cannot write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
    }
    close(fd);
    return rc;
}

/* 0: sealed and intact; 1: damaged (message recorded); */
static int check_seal(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        return tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__, "%s is %s, not a checkpoint file", path,
                         S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    }
    char hdr[USERBLOCK + 1];
    ssize_t r = pread(fd, hdr, USERBLOCK, 0);
    int fmt = 0;
    unsigned long long size = 0, hash = 0, got_size, got_hash;
    int rc = 0;
    if (r != USERBLOCK) {
        rc = tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__, "%s is truncated (shorter than its header)", path);
    } else {
        hdr[USERBLOCK] = 0;
        if (sscanf(hdr, "TCET-CHECKPOINT %d %llu %llx", &fmt, &size, &hash) != 3) {
            rc = tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__,
                           "%s is not a tcet checkpoint (no TCET-CHECKPOINT header)", path);
        } else {
            uint64_t s64, h64;
            if (seal_hash(fd, &s64, &h64)) {
                rc = tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__, "cannot read %s: %s", path, strerror(errno));
            } else {
                got_size = s64;
                got_hash = h64;
                if (got_size != size)
                    rc = tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__,
                                   "%s is truncated or extended (%llu bytes of data, header says %llu)", path,
                                   got_size, size);
                else if (got_hash != hash)
                    rc = tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__,
                                   "%s is corrupt (file checksum mismatch)", path);
            }
        }
    }
    close(fd);
    return rc;
}

static int fsync_path(const char *p, int flags)
{
    int fd = open(p, flags);
    if (fd < 0) return TCET_FAIL(TCET_ERR_RUNTIME, "cannot open %s: %s", p, strerror(errno));
    int e = fsync(fd);
    int err = errno;
    close(fd);
    if (e) return TCET_FAIL(TCET_ERR_RUNTIME, "fsync %s: %s", p, strerror(err));
    return 0;
}

/* The current checkpoint becomes the previous one: hard-link it to
 * "<dir>/checkpoint.prev.h5" through a temporary name (so the previous one is
 * replaced atomically and path stays in place for the rename that follows);
 * without hard links, rename it. */
static int keep_previous(const char *path)
{
    char dir[TCET_PATH_MAX + 64], prev[TCET_PATH_MAX + 64], tmp[TCET_PATH_MAX + 96];
    struct stat st;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, TCET_CKPT_NAME)) return 0; /* a run directory's checkpoint only */
    if (stat(path, &st) != 0) return 0;        /* the first checkpoint */
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(prev, sizeof prev, "%s/%s", dirname(dir), TCET_CKPT_PREV_NAME);
    snprintf(tmp, sizeof tmp, "%s.tmp.prev.%d", path, (int)getpid()); /* removed as stale if left behind */
    unlink(tmp);
    if (link(path, tmp) == 0) {
        if (rename(tmp, prev) == 0) return 0;
        int err = errno;
        unlink(tmp);
        return TCET_FAIL(TCET_ERR_RUNTIME, "rename %s -> %s: %s (hint: check the run directory's permissions and "
                         "free space)", tmp, prev, strerror(err));
    }
    if (rename(path, prev))
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot keep the previous checkpoint: link and rename %s -> %s: %s (hint: "
                         "check the run directory's permissions and free space)", path, prev, strerror(errno));
    return 0;
}

int tcet_checkpoint_write(const char *path, const tcet_checkpoint *ck)
{
    char tmp[TCET_PATH_MAX + 64], dir[TCET_PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int rc = write_file(tmp, ck);
    if (!rc) rc = seal(tmp);
    if (!rc) rc = fsync_path(tmp, O_RDONLY | O_NOFOLLOW);
    if (!rc) rc = keep_previous(path);
    if (!rc && rename(tmp, path))
        rc = TCET_FAIL(TCET_ERR_RUNTIME, "rename %s -> %s: %s", tmp, path, strerror(errno));
    if (rc) {
        unlink(tmp);
        /* One line: the file, the failing step and the system's reason. */
        char why[1200];
        snprintf(why, sizeof why, "%s", tcet_error_message());
        if (strstr(why, tmp))
            return TCET_FAIL(rc, "%s; %s is unchanged", why, path);
        return TCET_FAIL(rc, "cannot write %s (%s); %s is unchanged", tmp, why, path);
    }
    snprintf(dir, sizeof dir, "%s", path);
    return fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY);
}

int tcet_write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[TCET_PATH_MAX + 64], dir[TCET_PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    /* A fresh file: a stale one, or a link, under this name is removed first
     * and never written through. */
    if (unlink(tmp) && errno != ENOENT)
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot remove the stale %s: %s", tmp, strerror(errno));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return TCET_FAIL(TCET_ERR_RUNTIME, "cannot write %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            unlink(tmp);
            return TCET_FAIL(TCET_ERR_RUNTIME, "cannot write %s: %s", tmp, strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) || close(fd)) {
        int err = errno;
        unlink(tmp);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot write %s: %s", tmp, strerror(err));
    }
    if (rename(tmp, path)) {
        int err = errno;
        unlink(tmp);
        return TCET_FAIL(TCET_ERR_RUNTIME, "rename %s -> %s: %s", tmp, path, strerror(err));
    }
    snprintf(dir, sizeof dir, "%s", path);
    return fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY);
}

void tcet_checkpoint_remove_stale(const char *path)
{
    char dirbuf[TCET_PATH_MAX + 64], basebuf[TCET_PATH_MAX + 64], prefix[TCET_PATH_MAX + 80];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    snprintf(basebuf, sizeof basebuf, "%s", path);
    const char *dir = dirname(dirbuf), *base = basename(basebuf);
    snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            char full[2 * TCET_PATH_MAX + 200];
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            unlink(full);
        }
    closedir(d);
}

/* ---- read ---------------------------------------------------------------- */
#define REFUSE(...) tcet_fail(TCET_ERR_CHECKPOINT, __FILE__, __LINE__, __VA_ARGS__)

static int read_attr(hid_t loc, const char *path, const char *name, hid_t type, void *v)
{
    if (H5Aexists(loc, name) <= 0) return REFUSE("%s: attribute '%s' missing", path, name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return REFUSE("%s: cannot open attribute '%s'", path, name);
    herr_t e = H5Aread(a, type, v);
    H5Aclose(a);
    if (e < 0) return REFUSE("%s: cannot read attribute '%s'", path, name);
    return 0;
}

static int read_str_attr(hid_t loc, const char *path, const char *name, char **out)
{
    hid_t t = vlen_str_type();
    if (t < 0) return REFUSE("string type");
    char *s = NULL;
    int rc = read_attr(loc, path, name, t, &s);
    H5Tclose(t);
    if (rc) return rc;
    *out = xstrdup(s ? s : "");
    H5free_memory(s);
    return 0;
}

static int read_u64_array(hid_t f, const char *path, const char *name, uint64_t *v, size_t n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return REFUSE("%s: dataset /%s missing", path, name);
    hid_t sp = H5Dget_space(d);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    herr_t e = np == (hssize_t)n ? H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : -1;
    H5Dclose(d);
    if (e < 0) return REFUSE("%s: cannot read /%s", path, name);
    return 0;
}

static int read_cands(hid_t f, const char *path, const char *name, hid_t type, tcet_cand **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return REFUSE("%s: dataset /%s missing", path, name);
    hid_t sp = H5Dget_space(d);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (np < 0) {
        if (sp >= 0) H5Sclose(sp);
        H5Dclose(d);
        return REFUSE("%s: bad dataspace of /%s", path, name);
    }
    tcet_cand *c = xcalloc((size_t)np + 1, sizeof *c);
    herr_t e = np ? H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c) : 0;
    if (e < 0) {
        H5Sclose(sp);
        H5Dclose(d);
        free(c);
        return REFUSE("%s: cannot read /%s (corrupt data: checksum error?)", path, name);
    }
    /* Move the library-allocated strings to our allocator. */
    for (hssize_t i = 0; i < np; i++) {
        char *s = c[i].structure, *r = c[i].reason;
        c[i].structure = xstrdup(s ? s : "");
        c[i].reason = xstrdup(r ? r : "");
        H5free_memory(s);
        H5free_memory(r);
    }
    H5Sclose(sp);
    H5Dclose(d);
    *out = c;
    *n = (size_t)np;
    return 0;
}

int tcet_checkpoint_read(const char *path, tcet_checkpoint *ck)
{
    memset(ck, 0, sizeof *ck);
    if (access(path, R_OK)) return REFUSE("cannot read checkpoint %s: %s", path, strerror(errno));
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* we report one clear message instead of the stack */
    int rc = 0;
    hid_t f = -1, ct = -1;
    if (check_seal(path)) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", tcet_error_message());
        /* Damaged or foreign. If the HDF5 metadata (checksummed itself) still
         * names another format version, say that instead: it is the likelier
         * story (a file rewritten by another tool or version). */
        int32_t fmt = 0;
        hid_t g = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
        int other = g >= 0 && H5Aexists(g, "format_version") > 0 &&
                    read_attr(g, path, "format_version", H5T_NATIVE_INT32, &fmt) == 0 && fmt != TCET_CKPT_FORMAT;
        if (g >= 0) H5Fclose(g);
        if (other) {
            tcet_error_clear();
            rc = REFUSE("%s has checkpoint format %d; this tcet reads format %d", path, fmt, TCET_CKPT_FORMAT);
        } else {
            rc = REFUSE("%s", msg);
        }
        goto out;
    }
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        rc = REFUSE("%s is not a readable HDF5 file (truncated or corrupt)", path);
        goto out;
    }
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        rc = REFUSE("%s cannot be opened (truncated or corrupt)", path);
        goto out;
    }
    int32_t fmt = 0, fin = 0;
    if ((rc = read_attr(f, path, "format_version", H5T_NATIVE_INT32, &fmt))) goto out;
    ck->format_version = fmt;
    if (fmt != TCET_CKPT_FORMAT) {
        rc = REFUSE("%s has checkpoint format %d; this tcet reads format %d", path, fmt, TCET_CKPT_FORMAT);
        goto out;
    }
    char *ver = NULL;
    if ((rc = read_str_attr(f, path, "tcet_version", &ver))) goto out;
    snprintf(ck->tcet_version, sizeof ck->tcet_version, "%s", ver);
    free(ver);
    uint64_t hash = 0;
    if ((rc = read_str_attr(f, path, "config", &ck->config_text)) ||
        (rc = read_attr(f, path, "next_iter", H5T_NATIVE_UINT64, &ck->next_iter)) ||
        (rc = read_attr(f, path, "committed", H5T_NATIVE_UINT64, &ck->committed)) ||
        (rc = read_attr(f, path, "naswot_seed", H5T_NATIVE_UINT64, &ck->naswot_seed)) ||
        (rc = read_attr(f, path, "finished", H5T_NATIVE_INT32, &fin)) ||
        (rc = read_attr(f, path, "elapsed", H5T_NATIVE_DOUBLE, &ck->elapsed)) ||
        (rc = read_attr(f, path, "events_offset", H5T_NATIVE_UINT64, &ck->events_offset)) ||
        (rc = read_attr(f, path, "content_hash", H5T_NATIVE_UINT64, &hash)) ||
        (rc = read_u64_array(f, path, "rng_state", ck->rng.s, 4)) ||
        (rc = read_u64_array(f, path, "counts", ck->counts, TCET_CAND_NSTATUS)))
        goto out;
    ck->finished = fin;
    if (H5Aexists(f, "backend") > 0 && H5Aexists(f, "threads") > 0) { /* optional, see checkpoint.h */
        char *be = NULL;
        int32_t thr = 0;
        if ((rc = read_str_attr(f, path, "backend", &be)) || (rc = read_attr(f, path, "threads", H5T_NATIVE_INT32, &thr))) {
            free(be);
            goto out;
        }
        snprintf(ck->backend, sizeof ck->backend, "%s", be);
        free(be);
        ck->threads = thr;
    }
    if (H5Aexists(f, "outcome") > 0) { /* optional, see checkpoint.h */
        char *oc = NULL;
        if ((rc = read_str_attr(f, path, "outcome", &oc))) goto out;
        snprintf(ck->outcome, sizeof ck->outcome, "%s", oc);
        free(oc);
    }
    if (tcet_config_from_text(ck->config_text, &ck->config)) {
        rc = REFUSE("%s: configuration unreadable: %s", path, tcet_error_message());
        goto out;
    }
    if ((ct = make_cand_type()) < 0) {
        rc = REFUSE("candidate type");
        goto out;
    }
    if ((rc = read_cands(f, path, "population", ct, &ck->population, &ck->npop)) ||
        (rc = read_cands(f, path, "history", ct, &ck->history, &ck->nhist)) ||
        (rc = read_cands(f, path, "pending", ct, &ck->pending, &ck->npending)))
        goto out;
    if (content_hash(ck) != hash) {
        rc = REFUSE("%s is corrupt (content hash mismatch)", path);
        goto out;
    }
    if (ck->nhist != ck->committed) {
        rc = REFUSE("%s is inconsistent (history %zu rows, committed %llu)", path, ck->nhist,
                    (unsigned long long)ck->committed);
        goto out;
    }
out:
    if (ct >= 0) H5Tclose(ct);
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    if (rc) tcet_checkpoint_free(ck);
    return rc;
}
