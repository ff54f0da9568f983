//go:build !purego

package asm

// Guard-page tests of the NEON kernels (Linux: mmap and mprotect).

import (
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// neonPageGuarded maps len(vals) float32s so that the slice ends exactly at (end
// true) or starts exactly at (end false) an inaccessible page: any access
// past that end of the slice faults. The returned function unmaps.
func neonPageGuarded(t *testing.T, vals []float32, end bool) ([]float32, func()) {
	t.Helper()
	ps := os.Getpagesize()
	nbytes := 4 * len(vals)
	dataPages := (nbytes + ps - 1) / ps
	mem, err := syscall.Mmap(-1, 0, (dataPages+2)*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	require.NoError(t, syscall.Mprotect(mem[:ps], syscall.PROT_NONE))
	require.NoError(t, syscall.Mprotect(mem[(dataPages+1)*ps:], syscall.PROT_NONE))
	start := ps // data starts right after the first guard page
	if end {
		start = (dataPages+1)*ps - nbytes // data ends right at the second guard page
	}
	s := neonFloat32s(mem[start : start+nbytes])
	copy(s, vals)
	return s, func() { require.NoError(t, syscall.Munmap(mem)) }
}

func neonFloat32s(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// TestNEONNoOverreach places every input and output against an inaccessible
// page on one side or the other and runs each kernel; an access past either
// end of a slice kills the test with SIGSEGV.
func TestNEONNoOverreach(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	randv := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	withNEON(t, func() {
		for _, end := range []bool{false, true} {
			var frees []func()
			g := func(n int) []float32 {
				s, free := neonPageGuarded(t, randv(n), end)
				frees = append(frees, free)
				return s
			}
			release := func() {
				for _, f := range frees {
					f()
				}
				frees = frees[:0]
			}
			for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 35, 63, 64, 65} {
				Dot(g(n), g(n))
				Axpy(0.5, g(n), g(n))
				Clamp(g(n), -0.5, 0.5)
				release()
			}
			for _, m := range []int{1, 3, 4, 5, 8, 10} {
				for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 17} {
					for _, n := range []int{1, 2, 3, 4, 5, 7, 15, 16, 17, 21} {
						MatVec(g(m), g(m*k), m, k, g(k), true)
						MatTVec(g(k), g(m*k), m, k, g(m), true)
						Gemm(g(m*n), g(m*k), g(k*n), m, k, n, true)
						GemmNT(g(m*n), g(m*k), g(n*k), m, k, n, true)
						if n >= 2 {
							UnitUpdate(g(k*n), g(k), g(n), k-1, k, n, 0.5, -1, 1)
							UnitUpdate(g(k*n), g(k), g(n), 0, k, n, 0.5, -1, 1)
						}
						release()
					}
				}
			}
		}
	})
}
