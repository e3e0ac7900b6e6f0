// gpu-checks.cu - CUDA workloads for the checks only a GPU can answer
// (hw-checks.sh), one per mode:
//   deep DEPTH N   N launches of a tiny kernel from deep_launch(), called
//                  DEPTH frames deep in recurse(); prints the CPU time per
//                  launch ("ns_per_launch=")
//   loop N         launches until killed, printing "ready" after N
//   fork N         N launches, fork() a child that exits at once, N more
//   running        one kernel that spins for about 2 s, and exit without
//                  waiting for it
//   pageable       one 4 MiB host-to-device copy from pageable memory
//   flood N        N tiny kernels without waiting in between, then one sync
//   corr           kernels, memsets and copies through the runtime API
//   subscriber     takes CUPTI's subscriber slot itself first, then
//                  launches 10 kernels; prints what cuptiSubscribe_v2 said
// Exit 77 when there is no usable device.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <cuda_runtime.h>
#include <cupti.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
	fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_)); exit(e_ == cudaErrorNoDevice || \
	e_ == cudaErrorInsufficientDriver ? 77 : 1); } } while (0)

__global__ void tiny(float *a) { a[threadIdx.x] += 1.0f; }

__global__ void spin(long long cycles)
{
	long long t0 = clock64();
	while (clock64() - t0 < cycles)
		;
}

static long long now_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) void deep_launch(float *d, int n)
{
	long long t0 = now_ns();
	for (int i = 0; i < n; i++)
		tiny<<<1, 32>>>(d);
	long long t1 = now_ns();
	CHECK(cudaGetLastError());
	CHECK(cudaDeviceSynchronize());
	printf("ns_per_launch=%.0f\n", (double)(t1 - t0) / n);
}

// The volatile read after the call keeps the compiler from turning the
// recursion into a loop: every level is a real frame.
__attribute__((noinline)) int recurse(int depth, float *d, int n)
{
	volatile int level = depth;
	if (depth <= 0) {
		deep_launch(d, n);
		return 0;
	}
	int r = recurse(depth - 1, d, n);
	return r + level;
}

__attribute__((noinline)) void launch_some(float *d, int n)
{
	for (int i = 0; i < n; i++)
		tiny<<<1, 32>>>(d);
	CHECK(cudaGetLastError());
}

__attribute__((noinline)) void do_memset(float *d, size_t bytes) { CHECK(cudaMemset(d, 0, bytes)); }
__attribute__((noinline)) void do_memset_async(float *d, size_t bytes) { CHECK(cudaMemsetAsync(d, 1, bytes)); }
__attribute__((noinline)) void do_copy_back(float *h, const float *d, size_t bytes)
{
	CHECK(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost));
}
__attribute__((noinline)) void do_copy_in(float *d, const float *h, size_t bytes)
{
	CHECK(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
}

static void CUPTIAPI ignore(void *, CUpti_CallbackDomain, CUpti_CallbackId, const void *) {}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 100;
	if (!strcmp(mode, "subscriber")) {
		// Before any CUDA call, as a tool inside the program would.
		char holder[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN] = "";
		CUpti_SubscriberHandle h;
		CUpti_SubscriberParams p;
		memset(&p, 0, sizeof p);
		p.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
		p.subscriberName = "gpu-checks";
		p.oldSubscriberName = holder;
		p.oldSubscriberSize = sizeof holder;
		CUptiResult r = cuptiSubscribe_v2(&h, ignore, NULL, &p);
		printf("subscribe=%d holder=%s\n", (int)r, holder);
		fflush(stdout);
	}
	int count = 0;
	if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
		fprintf(stderr, "no CUDA device\n");
		return 77;
	}
	const size_t bytes = 4u << 20;
	float *d;
	CHECK(cudaMalloc(&d, bytes));
	if (!strcmp(mode, "deep")) {
		int depth = n;
		int launches = argc > 3 ? atoi(argv[3]) : 1000;
		recurse(depth, d, launches);
	} else if (!strcmp(mode, "loop")) {
		for (long i = 1;; i++) {
			tiny<<<1, 32>>>(d);
			if (i == n) {
				CHECK(cudaDeviceSynchronize());
				printf("ready\n");
				fflush(stdout);
			}
		}
	} else if (!strcmp(mode, "fork")) {
		launch_some(d, n);
		CHECK(cudaDeviceSynchronize());
		fflush(stdout);
		pid_t c = fork();
		if (c < 0)
			return 1;
		if (c == 0)
			exit(0); // runs the atexit handlers it inherited
		int status;
		if (waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "the forked child failed (status %d)\n", status);
			return 1;
		}
		launch_some(d, n);
		CHECK(cudaDeviceSynchronize());
	} else if (!strcmp(mode, "running")) {
		int khz = 0;
		CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0));
		spin<<<1, 1>>>(2LL * khz * 1000);
		CHECK(cudaGetLastError());
		return 0; // without waiting: the kernel still runs during exit
	} else if (!strcmp(mode, "pageable")) {
		float *h = (float *)calloc(1, bytes);
		do_copy_in(d, h, bytes);
		free(h);
	} else if (!strcmp(mode, "flood")) {
		launch_some(d, n);
		CHECK(cudaDeviceSynchronize());
	} else if (!strcmp(mode, "corr") || !strcmp(mode, "subscriber")) {
		float *h = (float *)calloc(1, bytes);
		do_memset(d, bytes);
		launch_some(d, 10);
		do_memset_async(d, bytes);
		do_copy_back(h, d, bytes);
		CHECK(cudaDeviceSynchronize());
		free(h);
	} else {
		fprintf(stderr, "usage: gpu-checks deep|loop|fork|running|pageable|flood|corr|subscriber [N]\n");
		return 2;
	}
	CHECK(cudaFree(d));
	return 0;
}
