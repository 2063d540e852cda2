/* Counts allocations in Python's object domain (PyObject_Malloc/Calloc: every object, and small
   buffers objects own). Benchmark helper: wraps the running allocator, as tracemalloc does. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyMemAllocatorEx wrapped;
static unsigned long long allocations = 0;
static int installed = 0;

static void *counting_malloc(void *ctx, size_t size) { allocations++; return wrapped.malloc(wrapped.ctx, size); }
static void *counting_calloc(void *ctx, size_t n, size_t size) { allocations++; return wrapped.calloc(wrapped.ctx, n, size); }
static void *counting_realloc(void *ctx, void *ptr, size_t size) { return wrapped.realloc(wrapped.ctx, ptr, size); }
static void counting_free(void *ctx, void *ptr) { wrapped.free(wrapped.ctx, ptr); }

static PyObject *install(PyObject *self, PyObject *args) {
    if (!installed) {
        PyMemAllocatorEx counting = {NULL, counting_malloc, counting_calloc, counting_realloc, counting_free};
        PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &wrapped);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &counting);
        installed = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *count(PyObject *self, PyObject *args) { return PyLong_FromUnsignedLongLong(allocations); }

static PyMethodDef methods[] = {
    {"install", install, METH_NOARGS, "Start counting object-domain allocations (cannot be undone)."},
    {"count", count, METH_NOARGS, "Object-domain allocations since install()."},
    {NULL, NULL, 0, NULL},
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_alloc_counter", NULL, -1, methods};
PyMODINIT_FUNC PyInit__alloc_counter(void) { return PyModule_Create(&module); }
