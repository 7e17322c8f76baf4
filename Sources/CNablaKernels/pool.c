// The kernels' worker threads: threads that spin a little before they sleep.
//
// A parallel region of a small problem (a batch of one through a CNN) lasts tens of
// microseconds, about as long as waking a sleeping thread takes; workers that spin for a short
// while after their last task are already awake when the next region starts, as OpenMP runtimes
// and ONNX Runtime keep theirs.
//
// One job at a time: the caller claims the pool with a try-lock (a second caller gets 0 and
// runs its work some other way), publishes the job, takes tasks itself, and returns when every
// task has finished. Tasks are claimed through one 64-bit word, generation | task count | next
// task, with compare-and-swap, so a worker that wakes late can only take a task of the job that
// is current at that moment; it reads the job's function after claiming, and the caller does
// not change the job before every claimed task has reported done.
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NBL_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define NBL_RELAX() __asm__ volatile("yield")
#else
#define NBL_RELAX() ((void)0)
#endif

enum { FIELD = 24, MAX_WORKERS = 255 };
#define FIELD_MASK ((1ull << FIELD) - 1)

static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER;  // held by the caller of a job
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static _Atomic unsigned long long word;  // generation << 48 | tasks << 24 | next
static atomic_int done, sleepers, workers;
static void (*job_function)(void *, long);
static void *job_context;
enum { SPIN_NS = 200000 };  // how long an idle worker spins before it sleeps
static _Thread_local int inside;  // this thread is running a task of the pool

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

// Takes and runs tasks of the current job until none is left; returns when the word shows
// another generation or no unclaimed task.
static void run_tasks(unsigned long long generation) {
    unsigned long long w = atomic_load(&word);
    for (;;) {
        unsigned long long tasks = (w >> FIELD) & FIELD_MASK, next = w & FIELD_MASK;
        if (w >> (2 * FIELD) != generation || next >= tasks) return;
        if (!atomic_compare_exchange_weak(&word, &w, w + 1)) continue;
        job_function(job_context, (long)next);
        atomic_fetch_add(&done, 1);
        w = atomic_load(&word);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    inside = 1;
    unsigned long long seen = atomic_load(&word) >> (2 * FIELD);
    for (;;) {
        long start = now_ns();
        unsigned long long generation;
        for (int i = 0;; i++) {
            generation = atomic_load(&word) >> (2 * FIELD);
            if (generation != seen) break;
            NBL_RELAX();
            if ((i & 63) != 63) continue;
            sched_yield();  // lets another thread have this core when there are more threads than cores
            if (now_ns() - start > SPIN_NS) {
                pthread_mutex_lock(&sleep_lock);
                atomic_fetch_add(&sleepers, 1);
                while ((generation = atomic_load(&word) >> (2 * FIELD)) == seen) pthread_cond_wait(&wake, &sleep_lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&sleep_lock);
                break;
            }
        }
        seen = generation;
        run_tasks(generation);
    }
    return NULL;
}

int nbl_pool_start(int count) {
    pthread_mutex_lock(&submit);
    int started = atomic_load(&workers);
    while (started < count && started < MAX_WORKERS) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, NULL);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        started++;
    }
    atomic_store(&workers, started);
    pthread_mutex_unlock(&submit);
    return started;
}

int nbl_pool_run(long tasks, void (*function)(void *, long), void *context) {
    if (tasks <= 0) return 1;
    if (inside || tasks > (long)FIELD_MASK || atomic_load(&workers) == 0) return 0;
    if (pthread_mutex_trylock(&submit) != 0) return 0;
    job_function = function;
    job_context = context;
    atomic_store(&done, 0);
    unsigned long long generation = ((atomic_load(&word) >> (2 * FIELD)) + 1) & 0xffff;
    atomic_store(&word, generation << (2 * FIELD) | (unsigned long long)tasks << FIELD);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside = 1;
    run_tasks(generation);
    inside = 0;
    for (int i = 1; atomic_load(&done) < tasks; i++) {
        NBL_RELAX();
        if ((i & 63) == 0) sched_yield();
    }
    pthread_mutex_unlock(&submit);
    return 1;
}
