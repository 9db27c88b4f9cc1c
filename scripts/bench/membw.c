// Memory read bandwidth of this machine, as decode sees it: T threads each sum their share of a buffer far
// larger than the caches (64-bit loads, 4 accumulators so the adds do not limit it); the best of R passes.
//
//   cc -O3 -march=native -pthread membw.c -o membw && ./membw [THREADS=1] [MiB=1024] [PASSES=5]
// Prints one line: "<GB/s> <threads> <MiB>" (GB = 1e9 bytes).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const uint64_t* data;
  size_t n;
  uint64_t sum;
  pthread_barrier_t* barrier;
} Job;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void* run(void* arg) {
  Job* job = (Job*)arg;
  pthread_barrier_wait(job->barrier);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= job->n; i += 4) {
    a += job->data[i];
    b += job->data[i + 1];
    c += job->data[i + 2];
    d += job->data[i + 3];
  }
  for (; i < job->n; i++) a += job->data[i];
  job->sum = a + b + c + d;
  pthread_barrier_wait(job->barrier);
  return NULL;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  const size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
  const int passes = argc > 3 ? atoi(argv[3]) : 5;
  if (threads < 1 || threads > 1024 || mib < 1 || passes < 1) {
    fprintf(stderr, "usage: membw [THREADS] [MiB] [PASSES]\n");
    return 2;
  }
  const size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
  uint64_t* data = malloc(n * sizeof(uint64_t));
  if (!data) {
    fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < n; i++) data[i] = i;  // touch every page
  double best = 0;
  uint64_t check = 0;
  for (int p = 0; p < passes; p++) {
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, threads + 1);
    Job* jobs = calloc(threads, sizeof(Job));
    pthread_t* ids = calloc(threads, sizeof(pthread_t));
    const size_t share = n / threads;
    for (int t = 0; t < threads; t++) {
      jobs[t] = (Job){data + t * share, t == threads - 1 ? n - t * share : share, 0, &barrier};
      pthread_create(&ids[t], NULL, run, &jobs[t]);
    }
    pthread_barrier_wait(&barrier);
    const double t0 = now();
    pthread_barrier_wait(&barrier);
    const double seconds = now() - t0;
    for (int t = 0; t < threads; t++) {
      pthread_join(ids[t], NULL);
      check += jobs[t].sum;
    }
    pthread_barrier_destroy(&barrier);
    free(jobs);
    free(ids);
    const double gbs = (double)(n * sizeof(uint64_t)) / seconds / 1e9;
    if (gbs > best) best = gbs;
  }
  printf("%.2f %d %zu\n", best, threads, mib);
  free(data);
  return check == 0 ? 3 : 0;  // the sums are used, so the loads are not optimised away
}
