// gpu-known.cu - a CUDA program whose GPU profile is known, for checking
// cprof record --gpu on a machine with a GPU (tests/gpu/run.sh):
//   heavy:  10 launches from launch_heavy(), 8 times the work of light
//   light:  40 launches from launch_light()
//   tiny:  100 launches from launch_tiny() (a few instructions each)
//   one 4 MiB copy host-to-device and one device-to-host (pageable), from
//   copy_in() and copy_out()
// Build it with -fno-optimize-sibling-calls (gpu-lib.sh's cuda_build): at
// -O2 a function whose last statement is a launch ends in a jump to nvcc's
// device stub, and its frame is gone when the launch is recorded.
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define N (1 << 20)
#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
	fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_)); exit(e_ == cudaErrorNoDevice || \
	e_ == cudaErrorInsufficientDriver ? 77 : 1); } } while (0)

// Each thread spins `iters` dependent steps: duration grows linearly with it.
__global__ void heavy(float *a, int iters)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	float x = a[i];
	for (int k = 0; k < iters; k++)
		x = x * 0.999f + 0.001f;
	a[i] = x;
}

__global__ void light(float *a, int iters)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	float x = a[i];
	for (int k = 0; k < iters; k++)
		x = x * 0.999f + 0.001f;
	a[i] = x;
}

__global__ void tiny(float *a)
{
	a[threadIdx.x] += 1.0f;
}

#define LIGHT_ITERS 2000
__attribute__((noinline)) void launch_heavy(float *d) { heavy<<<N / 256, 256>>>(d, 8 * LIGHT_ITERS); }
__attribute__((noinline)) void launch_light(float *d) { light<<<N / 256, 256>>>(d, LIGHT_ITERS); }
__attribute__((noinline)) void launch_tiny(float *d) { tiny<<<1, 32>>>(d); }
__attribute__((noinline)) void copy_in(float *d, const float *h) { CHECK(cudaMemcpy(d, h, N * sizeof(float), cudaMemcpyHostToDevice)); }
__attribute__((noinline)) void copy_out(float *h, const float *d) { CHECK(cudaMemcpy(h, d, N * sizeof(float), cudaMemcpyDeviceToHost)); }

int main()
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
		fprintf(stderr, "no CUDA device\n");
		return 77;
	}
	float *h = (float *)calloc(N, sizeof(float)), *d;
	CHECK(cudaMalloc(&d, N * sizeof(float)));
	copy_in(d, h);
	for (int i = 0; i < 10; i++)
		launch_heavy(d);
	for (int i = 0; i < 40; i++)
		launch_light(d);
	for (int i = 0; i < 100; i++)
		launch_tiny(d);
	CHECK(cudaDeviceSynchronize());
	copy_out(h, d);
	CHECK(cudaFree(d));
	free(h);
	return 0;
}
