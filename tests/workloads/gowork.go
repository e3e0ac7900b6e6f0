// gowork - a Go program with known hot functions for the profiler's tests:
// an interface method implemented by two types, a generic function
// instantiated for two types, and a small function of its own and the
// standard library's math.Abs inlined into hot loops. Thousands of
// goroutines share the work on GOMAXPROCS threads.
//
// Work is handed out in jobs, in the ratio
// (*Square).Area : (*Circle).Area : Sum[int32] : Sum[float64] = 1 : 2 : 1 : 2.
//
// Usage: gowork [UNITS] [GOROUTINES]   (defaults 10 and 2000)
package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
)

type Shape interface {
	Area(n int) float64
}

type Square struct{ side float64 }

type Circle struct{ r float64 }

// scale is small enough for the compiler to inline into Area.
func scale(i int) float64 {
	return float64(i&7) + 0.5
}

//go:noinline
func (s *Square) Area(n int) float64 {
	a := 0.0
	for i := 0; i < n; i++ {
		a += s.side * scale(i)
	}
	return a
}

//go:noinline
func (c *Circle) Area(n int) float64 {
	a := c.r
	for i := 0; i < n; i++ {
		a = math.Abs(a - c.r*float64(i&15))
	}
	return a
}

type number interface {
	~int32 | ~float64
}

//go:noinline
func Sum[T number](xs []T, rounds int) T {
	var s T
	for r := 0; r < rounds; r++ {
		for _, x := range xs {
			s += x * x
		}
	}
	return s
}

const jobIters = 200000

type job struct {
	kind int
}

func work(j job, shapes []Shape, ints []int32, floats []float64) float64 {
	switch j.kind {
	case 0:
		return shapes[0].Area(jobIters)
	case 1:
		return shapes[1].Area(jobIters / 4) // a slower loop: math.Abs is on its critical path
	case 2:
		return float64(Sum(ints, jobIters/len(ints)))
	default:
		return Sum(floats, jobIters/len(floats))
	}
}

func worker(jobs <-chan job, results chan<- float64, shapes []Shape, ints []int32, floats []float64, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		results <- work(j, shapes, ints, floats)
	}
}

func main() {
	units, goroutines := 10, 2000
	if len(os.Args) > 1 {
		units, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		goroutines, _ = strconv.Atoi(os.Args[2])
	}
	shapes := []Shape{&Square{1.5}, &Circle{7.25}}
	ints := make([]int32, 1000)
	floats := make([]float64, 1000)
	for i := range ints {
		ints[i] = int32(i % 97)
		floats[i] = float64(i%89) * 0.25
	}
	// One unit: 1 + 2 + 1 + 2 jobs, repeated 100 times.
	var kinds []int
	for u := 0; u < units*100; u++ {
		kinds = append(kinds, 0, 1, 1, 2, 3, 3)
	}
	jobs := make(chan job)
	results := make(chan float64, 64)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go worker(jobs, results, shapes, ints, floats, &wg)
	}
	total := 0.0
	done := make(chan struct{})
	go func() {
		for r := range results {
			total += r
		}
		close(done)
	}()
	for _, k := range kinds {
		jobs <- job{k}
	}
	close(jobs)
	wg.Wait()
	close(results)
	<-done
	fmt.Println(len(kinds), total > 0)
}
