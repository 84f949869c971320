/* keccak256 over many equal-size rows at once, for the Merkle trees of large custody exports.
 *
 * Python calls one function per batch instead of one hash object per row (safe-pysha3 costs
 * ~1.3 us of call overhead per leaf on top of the permutations), and the GIL is released while it
 * runs. On a CPU with AVX-512 (checked at run time) eight rows are hashed side by side, one
 * 64-bit lane of a zmm register each; with AVX2, four; otherwise one row at a time. Both give the bytes of
 * Keccak-256 as Ethereum uses it (padding 0x01 ... 0x80, not SHA3-256's 0x06): the tests compare
 * them with safe-pysha3 and with @openzeppelin/merkle-tree.
 *
 *   rows(data, size, twice=False, path=None) -> bytes
 *       keccak256 of each ``size``-byte row of ``data`` (len(data) a multiple of ``size``), 32 bytes
 *       per row in row order; ``twice``: keccak256 of that digest (an OpenZeppelin standard leaf).
 *   pairs(data, path=None) -> bytes
 *       keccak256(min(a, b) || max(a, b)) of each consecutive pair of 32-byte nodes (a commutative
 *       Merkle pair hash); len(data) a multiple of 64.
 *   PATHS: the ways this CPU has, best first: "avx512f" (eight rows side by side), "avx2" (four),
 *       "scalar" (one at a time, always there). ``path`` picks one (None: the first); the tests
 *       run every one against safe-pysha3.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* lanes are loaded as host integers: on a big-endian machine the build fails, and setup.py's
 * optional extension leaves hashing to the row-by-row Python path */
#error "stockpile.core._keccak assumes a little-endian machine"
#endif

#define RATE 136

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
/* rho offsets and pi destinations, in the order the pi cycle visits the lanes (starting at lane 1) */
static const int ROTC[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
static const int PILN[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

#define ROL64(x, n) (((x) << (n)) | ((x) >> ((64 - (n)) & 63)))

static void keccakf(uint64_t s[25]) {
    uint64_t bc[5], t;
    for (int r = 0; r < 24; r++) {
        #pragma GCC unroll 25
        for (int i = 0; i < 5; i++)
            bc[i] = s[i] ^ s[i + 5] ^ s[i + 10] ^ s[i + 15] ^ s[i + 20];
        #pragma GCC unroll 25
        for (int i = 0; i < 5; i++) {
            t = bc[(i + 4) % 5] ^ ROL64(bc[(i + 1) % 5], 1);
            #pragma GCC unroll 25
            for (int j = 0; j < 25; j += 5)
                s[j + i] ^= t;
        }
        t = s[1];
        #pragma GCC unroll 25
        for (int i = 0; i < 24; i++) {
            int j = PILN[i];
            uint64_t b = s[j];
            s[j] = ROL64(t, ROTC[i]);
            t = b;
        }
        #pragma GCC unroll 25
        for (int j = 0; j < 25; j += 5) {
            #pragma GCC unroll 25
            for (int i = 0; i < 5; i++)
                bc[i] = s[j + i];
            #pragma GCC unroll 25
            for (int i = 0; i < 5; i++)
                s[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
        }
        s[0] ^= RC[r];
    }
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* keccak's lanes are little-endian, as the host is (checked above) */
}

/* keccak256 of one message into out[32] */
static void keccak256(const unsigned char *in, Py_ssize_t len, unsigned char *out) {
    uint64_t s[25] = {0};
    unsigned char last[RATE];
    while (len >= RATE) {
        for (int i = 0; i < RATE / 8; i++)
            s[i] ^= load64(in + 8 * i);
        keccakf(s);
        in += RATE;
        len -= RATE;
    }
    memset(last, 0, RATE);
    memcpy(last, in, (size_t)len);
    last[len] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    for (int i = 0; i < RATE / 8; i++)
        s[i] ^= load64(last + 8 * i);
    keccakf(s);
    memcpy(out, s, 32);
}

static void rows_scalar(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out) {
    for (Py_ssize_t r = 0; r < n; r++) {
        keccak256(data + r * size, size, out + 32 * r);
        if (twice)
            keccak256(out + 32 * r, 32, out + 32 * r);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X8 1

#define X8 __attribute__((target("avx512f")))

X8 static void keccakf_x8(__m512i s[25]) {
    __m512i bc[5], t;
#pragma GCC unroll 24
    for (int r = 0; r < 24; r++) {
        #pragma GCC unroll 25
        for (int i = 0; i < 5; i++) /* xor of three, twice (0x96: a ^ b ^ c) */
            bc[i] = _mm512_ternarylogic_epi64(
                _mm512_ternarylogic_epi64(s[i], s[i + 5], s[i + 10], 0x96), s[i + 15], s[i + 20], 0x96);
        #pragma GCC unroll 25
        for (int i = 0; i < 5; i++) {
            t = _mm512_xor_si512(bc[(i + 4) % 5], _mm512_rol_epi64(bc[(i + 1) % 5], 1));
            #pragma GCC unroll 25
            for (int j = 0; j < 25; j += 5)
                s[j + i] = _mm512_xor_si512(s[j + i], t);
        }
        t = s[1];
        #pragma GCC unroll 25
        for (int i = 0; i < 24; i++) {
            int j = PILN[i];
            __m512i b = s[j];
            s[j] = _mm512_rolv_epi64(t, _mm512_set1_epi64(ROTC[i]));
            t = b;
        }
        #pragma GCC unroll 25
        for (int j = 0; j < 25; j += 5) { /* 0xD2: a ^ (~b & c) */
            #pragma GCC unroll 25
            for (int i = 0; i < 5; i++)
                bc[i] = s[j + i];
            #pragma GCC unroll 25
            for (int i = 0; i < 5; i++)
                s[j + i] = _mm512_ternarylogic_epi64(bc[i], bc[(i + 1) % 5], bc[(i + 2) % 5], 0xD2);
        }
        s[0] = _mm512_xor_si512(s[0], _mm512_set1_epi64((long long)RC[r]));
    }
}

/* Copies rows r .. r+k-1 of data, each padded to `padded` bytes (keccak's 0x01 ... 0x80), into scratch. */
static void pad_rows(unsigned char *scratch, const unsigned char *data, Py_ssize_t r, int k, Py_ssize_t size,
                     Py_ssize_t padded) {
    for (int i = 0; i < k; i++) {
        unsigned char *row = scratch + i * padded;
        memcpy(row, data + (r + i) * size, (size_t)size);
        memset(row + size, 0, (size_t)(padded - size));
        row[size] ^= 0x01;
        row[padded - 1] ^= 0x80;
    }
}

/* Eight rows at a time: each row is copied, padded, into a scratch of eight padded rows whose
 * lanes are gathered block by block. Rows past the last multiple of eight: the scalar path. */
X8 static int rows_x8(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out) {
    Py_ssize_t blocks = size / RATE + 1, padded = blocks * RATE;
    unsigned char *scratch = PyMem_RawMalloc((size_t)(8 * padded));
    if (scratch == NULL)
        return -1;
    const __m512i stride = _mm512_set_epi64(7 * padded, 6 * padded, 5 * padded, 4 * padded, 3 * padded, 2 * padded,
                                            padded, 0);
    const __m512i out_stride = _mm512_set_epi64(7 * 32, 6 * 32, 5 * 32, 4 * 32, 3 * 32, 2 * 32, 32, 0);
    Py_ssize_t r = 0;
    for (; r + 8 <= n; r += 8) {
        pad_rows(scratch, data, r, 8, size, padded);
        __m512i s[25];
        for (int i = 0; i < 25; i++)
            s[i] = _mm512_setzero_si512();
        for (Py_ssize_t b = 0; b < blocks; b++) {
            const unsigned char *base = scratch + b * RATE;
            for (int i = 0; i < RATE / 8; i++)
                s[i] = _mm512_xor_si512(s[i], _mm512_i64gather_epi64(stride, (const void *)(base + 8 * i), 1));
            keccakf_x8(s);
        }
        if (twice) { /* the 32-byte digest (lanes 0-3) as a one-block message */
            for (int i = 4; i < 25; i++)
                s[i] = _mm512_setzero_si512();
            s[4] = _mm512_set1_epi64(0x01);
            s[RATE / 8 - 1] = _mm512_set1_epi64((long long)0x8000000000000000ULL);
            keccakf_x8(s);
        }
        unsigned char *dst = out + 32 * r;
        for (int i = 0; i < 4; i++)
            _mm512_i64scatter_epi64((void *)(dst + 8 * i), out_stride, s[i], 1);
    }
    PyMem_RawFree(scratch);
    rows_scalar(data + r * size, n - r, size, twice, out + 32 * r);
    return 0;
}

#define X4 __attribute__((target("avx2")))
#define ROL4(x, n) _mm256_or_si256(_mm256_slli_epi64((x), (n)), _mm256_srli_epi64((x), 64 - (n)))

/* The same permutation on four states, one per 64-bit lane of a ymm register (AVX2 has no rotate
 * and no three-input logic: shifts and or, andnot and xor). */
X4 static void keccakf_x4(__m256i s[25]) {
    __m256i bc[5], t;
    for (int r = 0; r < 24; r++) {
        #pragma GCC unroll 25
        for (int i = 0; i < 5; i++)
            bc[i] = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(s[i], s[i + 5]), _mm256_xor_si256(s[i + 10], s[i + 15])),
                                     s[i + 20]);
        #pragma GCC unroll 25
        for (int i = 0; i < 5; i++) {
            t = _mm256_xor_si256(bc[(i + 4) % 5], ROL4(bc[(i + 1) % 5], 1));
            #pragma GCC unroll 25
            for (int j = 0; j < 25; j += 5)
                s[j + i] = _mm256_xor_si256(s[j + i], t);
        }
        t = s[1];
        #pragma GCC unroll 25
        for (int i = 0; i < 24; i++) {
            int j = PILN[i];
            __m256i b = s[j];
            s[j] = ROL4(t, ROTC[i]);
            t = b;
        }
        #pragma GCC unroll 25
        for (int j = 0; j < 25; j += 5) { /* a ^ (~b & c) */
            #pragma GCC unroll 25
            for (int i = 0; i < 5; i++)
                bc[i] = s[j + i];
            #pragma GCC unroll 25
            for (int i = 0; i < 5; i++)
                s[j + i] = _mm256_xor_si256(bc[i], _mm256_andnot_si256(bc[(i + 1) % 5], bc[(i + 2) % 5]));
        }
        s[0] = _mm256_xor_si256(s[0], _mm256_set1_epi64x((long long)RC[r]));
    }
}

/* Four rows at a time, as rows_x8 (AVX2 has gathers but no scatter: the digests are stored lane by lane). */
X4 static int rows_x4(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out) {
    Py_ssize_t blocks = size / RATE + 1, padded = blocks * RATE;
    unsigned char *scratch = PyMem_RawMalloc((size_t)(4 * padded));
    if (scratch == NULL)
        return -1;
    const __m256i stride = _mm256_set_epi64x(3 * padded, 2 * padded, padded, 0);
    Py_ssize_t r = 0;
    for (; r + 4 <= n; r += 4) {
        pad_rows(scratch, data, r, 4, size, padded);
        __m256i s[25];
        for (int i = 0; i < 25; i++)
            s[i] = _mm256_setzero_si256();
        for (Py_ssize_t b = 0; b < blocks; b++) {
            const unsigned char *base = scratch + b * RATE;
            for (int i = 0; i < RATE / 8; i++)
                s[i] = _mm256_xor_si256(s[i], _mm256_i64gather_epi64((const long long *)(base + 8 * i), stride, 1));
            keccakf_x4(s);
        }
        if (twice) {
            for (int i = 4; i < 25; i++)
                s[i] = _mm256_setzero_si256();
            s[4] = _mm256_set1_epi64x(0x01);
            s[RATE / 8 - 1] = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
            keccakf_x4(s);
        }
        uint64_t lanes[4][4];
        for (int i = 0; i < 4; i++)
            _mm256_storeu_si256((__m256i *)lanes[i], s[i]);
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++)
                memcpy(out + 32 * (r + k) + 8 * i, &lanes[i][k], 8);
    }
    PyMem_RawFree(scratch);
    rows_scalar(data + r * size, n - r, size, twice, out + 32 * r);
    return 0;
}

static void cpu_paths(int *avx512, int *avx2) {
    __builtin_cpu_init();
    *avx512 = __builtin_cpu_supports("avx512f");
    *avx2 = __builtin_cpu_supports("avx2");
}
#else
#define HAVE_X8 0
static void cpu_paths(int *avx512, int *avx2) { *avx512 = *avx2 = 0; }
#endif

/* the ways to hash rows, best first; which ones this CPU has is found when the module loads */
enum { PATH_AVX512 = 0, PATH_AVX2 = 1, PATH_SCALAR = 2, NPATHS = 3 };
static const char *const PATH_NAMES[NPATHS] = {"avx512f", "avx2", "scalar"};
static int available[NPATHS] = {0, 0, 1};

/* path: NULL or None for the best this CPU has, else one of PATH_NAMES it has; -1 with an exception set */
static int parse_path(PyObject *path) {
    if (path == NULL || path == Py_None) {
        for (int p = 0; p < NPATHS; p++)
            if (available[p])
                return p;
        return PATH_SCALAR;
    }
    if (!PyUnicode_Check(path)) {
        PyErr_SetString(PyExc_TypeError, "path must be a str or None");
        return -1;
    }
    for (int p = 0; p < NPATHS; p++)
        if (PyUnicode_CompareWithASCIIString(path, PATH_NAMES[p]) == 0) {
            if (available[p])
                return p;
            PyErr_Format(PyExc_ValueError, "path %R: this CPU does not have it", path);
            return -1;
        }
    PyErr_Format(PyExc_ValueError, "path %R: not one of avx512f, avx2, scalar", path);
    return -1;
}

/* hash n rows of size bytes into out; -1 (no exception set) when out of memory */
static int hash_rows(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, int path, unsigned char *out) {
#if HAVE_X8
    if (path == PATH_AVX512 && n >= 8)
        return rows_x8(data, n, size, twice, out);
    if (path == PATH_AVX2 && n >= 4)
        return rows_x4(data, n, size, twice, out);
#else
    (void)path;
#endif
    rows_scalar(data, n, size, twice, out);
    return 0;
}

static PyObject *py_rows(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"data", "size", "twice", "path", NULL};
    Py_buffer buf;
    Py_ssize_t size;
    PyObject *path_arg = NULL;
    int twice = 0, path, rc;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*n|pO", kwlist, &buf, &size, &twice, &path_arg))
        return NULL;
    if ((path = parse_path(path_arg)) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    if (size <= 0 || buf.len % size != 0) {
        PyErr_Format(PyExc_ValueError, "data of %zd bytes is not a whole number of %zd-byte rows", buf.len, size);
        PyBuffer_Release(&buf);
        return NULL;
    }
    Py_ssize_t n = buf.len / size;
    PyObject *result = PyBytes_FromStringAndSize(NULL, 32 * n);
    if (result == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    rc = hash_rows((const unsigned char *)buf.buf, n, size, twice, path, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (rc < 0) {
        Py_DECREF(result);
        return PyErr_NoMemory();
    }
    return result;
}

static PyObject *py_pairs(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"data", "path", NULL};
    Py_buffer buf;
    PyObject *path_arg = NULL;
    int path, rc = 0;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|O", kwlist, &buf, &path_arg))
        return NULL;
    if ((path = parse_path(path_arg)) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    if (buf.len % 64 != 0) {
        PyErr_Format(PyExc_ValueError, "data of %zd bytes is not a whole number of 32-byte node pairs", buf.len);
        PyBuffer_Release(&buf);
        return NULL;
    }
    Py_ssize_t n = buf.len / 64;
    PyObject *result = PyBytes_FromStringAndSize(NULL, 32 * n);
    unsigned char *sorted = result == NULL ? NULL : PyMem_RawMalloc((size_t)(buf.len ? buf.len : 1));
    if (sorted == NULL) {
        Py_XDECREF(result);
        PyBuffer_Release(&buf);
        return PyErr_NoMemory();
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *in = (const unsigned char *)buf.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char *a = in + 64 * i, *b = a + 32;
        int swap = memcmp(a, b, 32) > 0;
        memcpy(sorted + 64 * i, swap ? b : a, 32);
        memcpy(sorted + 64 * i + 32, swap ? a : b, 32);
    }
    rc = hash_rows(sorted, n, 64, 0, path, out);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(sorted);
    PyBuffer_Release(&buf);
    if (rc < 0) {
        Py_DECREF(result);
        return PyErr_NoMemory();
    }
    return result;
}

static PyMethodDef methods[] = {
    {"rows", (PyCFunction)(void (*)(void))py_rows, METH_VARARGS | METH_KEYWORDS,
     "rows(data, size, twice=False, path=None) -> bytes: keccak256 of each size-byte row (twice: of its digest)"},
    {"pairs", (PyCFunction)(void (*)(void))py_pairs, METH_VARARGS | METH_KEYWORDS,
     "pairs(data, path=None) -> bytes: keccak256(min(a, b) || max(a, b)) of each pair of 32-byte nodes"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_keccak", "keccak256 over many rows at once", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__keccak(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    cpu_paths(&available[PATH_AVX512], &available[PATH_AVX2]);
    PyObject *paths = PyTuple_New(0);
    for (int p = 0; paths != NULL && p < NPATHS; p++) {
        if (!available[p])
            continue;
        PyObject *name = PyUnicode_FromString(PATH_NAMES[p]);
        if (name == NULL || _PyTuple_Resize(&paths, PyTuple_GET_SIZE(paths) + 1) < 0) {
            Py_XDECREF(name);
            Py_CLEAR(paths);
            break;
        }
        PyTuple_SET_ITEM(paths, PyTuple_GET_SIZE(paths) - 1, name);
    }
    if (paths == NULL || PyModule_AddObject(m, "PATHS", paths) < 0) {
        Py_XDECREF(paths);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
