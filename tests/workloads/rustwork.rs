// rustwork - a Rust program with known hot functions for the profiler's
// tests: a trait method implemented by two types and called through trait
// objects, a generic function monomorphized for two types, and standard
// library functions inlined into hot loops (core::ptr::read_volatile, which
// also keeps the compiler from folding the loops away, range and slice
// iterators, wrapping arithmetic).
//
// Work is handed out in jobs, in the ratio
// <Mix as Kernel>::run : <Fold as Kernel>::run : sum_sq::<u32> : sum_sq::<u16> = 1 : 2 : 1 : 2.
//
// Usage: rustwork [UNITS]   (default 10)

#[inline(always)]
fn read<T: Copy>(x: &T) -> T {
    unsafe { std::ptr::read_volatile(x) }
}

pub trait Kernel {
    fn run(&self, n: u64) -> u64;
}

pub struct Mix(u64);

pub struct Fold(u64);

impl Kernel for Mix {
    #[inline(never)]
    fn run(&self, n: u64) -> u64 {
        let mut x = self.0;
        for i in 0..n {
            x = read(&x).wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        x
    }
}

impl Kernel for Fold {
    #[inline(never)]
    fn run(&self, n: u64) -> u64 {
        let mut x = self.0;
        for i in 0..n {
            let y = read(&x);
            x = (y ^ (y >> 7)).wrapping_add(i).rotate_left(5);
        }
        x
    }
}

#[inline(never)]
pub fn sum_sq<T: Copy + Into<u64>>(xs: &[T], rounds: u64) -> u64 {
    let mut s = 0u64;
    for _ in 0..rounds {
        for x in xs.iter() {
            let v: u64 = read(x).into();
            s = s.wrapping_add(v * v);
        }
    }
    s
}

const JOB: u64 = 200_000;

fn main() {
    let units: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let kernels: Vec<Box<dyn Kernel>> = vec![Box::new(Mix(3)), Box::new(Fold(5))];
    let a: Vec<u32> = (0..1000).map(|i| i % 97).collect();
    let b: Vec<u16> = (0..1000).map(|i| (i % 89) as u16).collect();
    let mut acc = 0u64;
    for _ in 0..units * 100 {
        for k in [0usize, 1, 1] {
            acc ^= kernels[k].run(JOB);
        }
        acc ^= sum_sq(&a, JOB / 1000);
        acc ^= sum_sq(&b, JOB / 1000);
        acc ^= sum_sq(&b, JOB / 1000);
    }
    println!("{}", acc & 1);
}
