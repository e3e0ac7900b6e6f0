// cxx - a C++ workload for demangling: a namespaced class method and a
// template, doing work in the ratio 2:1.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace engine {
class Solver {
public:
	explicit Solver(uint64_t seed) : x_(seed) {}
	__attribute__((noinline)) uint64_t step(uint64_t n);
private:
	uint64_t x_;
};

uint64_t Solver::step(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		x_ = x_ * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x_));
	}
	return x_;
}

template <typename T> __attribute__((noinline)) T accumulate(T n)
{
	T s = 0;
	for (T i = 0; i < n; i++) {
		s += i * 3;
		__asm__ volatile("" : "+r"(s));
	}
	return s;
}
} // namespace engine

int main(int argc, char **argv)
{
	uint64_t units = argc > 1 ? strtoull(argv[1], nullptr, 10) : 4;
	engine::Solver s(7);
	uint64_t r = 0;
	for (uint64_t u = 0; u < units * 10; u++) {
		r ^= s.step(20000000);
		r ^= engine::accumulate<uint64_t>(10000000);
	}
	std::printf("%llu\n", (unsigned long long)(r & 1));
	return 0;
}
