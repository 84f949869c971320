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

/* One Keccak-f[1600] permutation of the 25 lanes s[], for any lane type T (a uint64_t, or a
 * vector of several states' lanes side by side) given its operations: XOR(a, b), XOR5 of five,
 * ROL(x, n) (rotate left by n), CHI(a, b, c) = a ^ (~b & c), CONST(k) (k in every lane).
 * The scalar path and each vector path below are this one definition. */
#define UNROLL _Pragma("GCC unroll 25")
#define KECCAKF(T, s, XOR, XOR5, ROL, CHI, CONST)                                                         \
    do {                                                                                                  \
        T bc_[5], t_;                                                                                     \
        for (int r_ = 0; r_ < 24; r_++) {                                                                 \
            /* theta */                                                                                   \
            UNROLL for (int i = 0; i < 5; i++) bc_[i] = XOR5(s[i], s[i + 5], s[i + 10], s[i + 15], s[i + 20]); \
            UNROLL for (int i = 0; i < 5; i++) {                                                          \
                t_ = XOR(bc_[(i + 4) % 5], ROL(bc_[(i + 1) % 5], 1));                                     \
                UNROLL for (int j = 0; j < 25; j += 5) s[j + i] = XOR(s[j + i], t_);                      \
            }                                                                                             \
            /* rho and pi */                                                                              \
            t_ = s[1];                                                                                    \
            UNROLL for (int i = 0; i < 24; i++) {                                                         \
                T b_ = s[PILN[i]];                                                                        \
                s[PILN[i]] = ROL(t_, ROTC[i]);                                                            \
                t_ = b_;                                                                                  \
            }                                                                                             \
            /* chi */                                                                                     \
            UNROLL for (int j = 0; j < 25; j += 5) {                                                      \
                UNROLL for (int i = 0; i < 5; i++) bc_[i] = s[j + i];                                     \
                UNROLL for (int i = 0; i < 5; i++) s[j + i] = CHI(bc_[i], bc_[(i + 1) % 5], bc_[(i + 2) % 5]); \
            }                                                                                             \
            /* iota */                                                                                    \
            s[0] = XOR(s[0], CONST(RC[r_]));                                                              \
        }                                                                                                 \
    } while (0)

#define XOR64(a, b) ((a) ^ (b))
#define XOR5_64(a, b, c, d, e) ((a) ^ (b) ^ (c) ^ (d) ^ (e))
#define ROL64(x, n) (((x) << (n)) | ((x) >> ((64 - (n)) & 63)))
#define CHI64(a, b, c) ((a) ^ (~(b) & (c)))
#define CONST64(k) (k)

static void keccakf(uint64_t s[25]) { KECCAKF(uint64_t, s, XOR64, XOR5_64, ROL64, CHI64, CONST64); }

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* keccak's lanes are little-endian, as the host is (checked above) */
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

static int rows_x1(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out);

/* The body of rows_xN: keccak256 of n rows of `size` bytes into out (32 bytes each), N rows side
 * by side in the lanes of T (PERM: KECCAKF over T; LANES(stride, p): lane i of each state from
 * p + i * stride, STRIDE(padded) the stride; STORE(dst, v): the N lanes of v to dst[0..N-1]). Each
 * group of N rows is copied, padded, into a scratch of N padded rows whose lanes are loaded block
 * by block; ``twice``: the 32-byte digest (lanes 0-3) hashed again as a one-block message. Rows
 * past the last multiple of N go one at a time. -1 when out of memory. */
#define ROWS_XN(N, T, PERM, XOR, CONST, STRIDE, LANES, STORE)                                             \
    do {                                                                                                  \
        Py_ssize_t blocks = size / RATE + 1, padded = blocks * RATE, r = 0;                               \
        unsigned char *scratch = PyMem_RawMalloc((size_t)((N) * padded));                                 \
        if (scratch == NULL)                                                                              \
            return -1;                                                                                    \
        const T stride = STRIDE(padded);                                                                  \
        (void)stride;                                                                                     \
        for (; r + (N) <= n; r += (N)) {                                                                  \
            pad_rows(scratch, data, r, (N), size, padded);                                                \
            T s[25];                                                                                      \
            for (int i = 0; i < 25; i++)                                                                  \
                s[i] = CONST(0);                                                                          \
            for (Py_ssize_t b = 0; b < blocks; b++) {                                                     \
                const unsigned char *base = scratch + b * RATE;                                           \
                for (int i = 0; i < RATE / 8; i++)                                                        \
                    s[i] = XOR(s[i], LANES(stride, base + 8 * i));                                        \
                PERM(s);                                                                                  \
            }                                                                                             \
            if (twice) {                                                                                  \
                for (int i = 4; i < 25; i++)                                                              \
                    s[i] = CONST(0);                                                                      \
                s[4] = CONST(0x01);                                                                       \
                s[RATE / 8 - 1] = CONST(0x8000000000000000ULL);                                           \
                PERM(s);                                                                                  \
            }                                                                                             \
            uint64_t lanes[4][N];                                                                         \
            for (int i = 0; i < 4; i++)                                                                   \
                STORE(lanes[i], s[i]);                                                                    \
            for (int k = 0; k < (N); k++)                                                                 \
                for (int i = 0; i < 4; i++)                                                               \
                    memcpy(out + 32 * (r + k) + 8 * i, &lanes[i][k], 8);                                  \
        }                                                                                                 \
        PyMem_RawFree(scratch);                                                                           \
        return r < n ? rows_x1(data + r * size, n - r, size, twice, out + 32 * r) : 0;                    \
    } while (0)

#define STRIDE1(padded) 0
#define LANES1(stride, p) load64(p)
#define STORE1(dst, v) memcpy((dst), &(v), 8)

static int rows_x1(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out) {
    ROWS_XN(1, uint64_t, keccakf, XOR64, CONST64, STRIDE1, LANES1, STORE1);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_SIMD 1

#define X8 __attribute__((target("avx512f")))

/* AVX-512: three-input logic (0x96: a ^ b ^ c; 0xD2: a ^ (~b & c)) and a rotate instruction */
#define XOR8(a, b) _mm512_xor_si512((a), (b))
#define XOR5_8(a, b, c, d, e) _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64((a), (b), (c), 0x96), (d), (e), 0x96)
#define ROL8(x, n) _mm512_rolv_epi64((x), _mm512_set1_epi64(n))
#define CHI8(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0xD2)
#define CONST8(k) _mm512_set1_epi64((long long)(k))

X8 static void keccakf_x8(__m512i s[25]) { KECCAKF(__m512i, s, XOR8, XOR5_8, ROL8, CHI8, CONST8); }

#define STRIDE8(p) _mm512_set_epi64(7 * (p), 6 * (p), 5 * (p), 4 * (p), 3 * (p), 2 * (p), (p), 0)
#define LANES8(stride, p) _mm512_i64gather_epi64((stride), (const void *)(p), 1)
#define STORE8(dst, v) _mm512_storeu_si512((void *)(dst), (v))

X8 static int rows_x8(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out) {
    ROWS_XN(8, __m512i, keccakf_x8, XOR8, CONST8, STRIDE8, LANES8, STORE8);
}

#define X4 __attribute__((target("avx2")))
/* AVX2: no rotate and no three-input logic: shifts and or, andnot and xor */
#define XOR4(a, b) _mm256_xor_si256((a), (b))
#define XOR5_4(a, b, c, d, e) XOR4(XOR4(XOR4((a), (b)), XOR4((c), (d))), (e))
#define ROL4(x, n) _mm256_or_si256(_mm256_slli_epi64((x), (n)), _mm256_srli_epi64((x), 64 - (n)))
#define CHI4(a, b, c) XOR4((a), _mm256_andnot_si256((b), (c)))
#define CONST4(k) _mm256_set1_epi64x((long long)(k))

X4 static void keccakf_x4(__m256i s[25]) { KECCAKF(__m256i, s, XOR4, XOR5_4, ROL4, CHI4, CONST4); }

#define STRIDE4(p) _mm256_set_epi64x(3 * (p), 2 * (p), (p), 0)
#define LANES4(stride, p) _mm256_i64gather_epi64((const long long *)(p), (stride), 1)
#define STORE4(dst, v) _mm256_storeu_si256((__m256i *)(dst), (v))

X4 static int rows_x4(const unsigned char *data, Py_ssize_t n, Py_ssize_t size, int twice, unsigned char *out) {
    ROWS_XN(4, __m256i, keccakf_x4, XOR4, CONST4, STRIDE4, LANES4, STORE4);
}

static void cpu_paths(int *avx512, int *avx2) {
    __builtin_cpu_init();
    *avx512 = __builtin_cpu_supports("avx512f");
    *avx2 = __builtin_cpu_supports("avx2");
}
#else
#define HAVE_SIMD 0
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
#if HAVE_SIMD
    if (path == PATH_AVX512 && n >= 8)
        return rows_x8(data, n, size, twice, out);
    if (path == PATH_AVX2 && n >= 4)
        return rows_x4(data, n, size, twice, out);
#else
    (void)path;
#endif
    return rows_x1(data, n, size, twice, out);
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
