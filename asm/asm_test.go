//go:build linux

package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Guard pages: canaries catch stray writes, but a kernel that reads past its
// slice (a vector load over the tail) reads harmless heap memory. Here every
// operand sits flush against an inaccessible page, at the end of its mapping
// (overreads fault) and at its start (underreads fault), so any such read by
// any tier kills the test binary ("unexpected fault address", with the stack
// of the kernel call that faulted). Faults inside assembly cannot be turned
// into panics (debug.SetPanicOnFault covers Go code only), hence the crash.

func init() {
	threadCPUTime = func() time.Duration {
		var ts syscall.Timespec
		const clockThreadCPUTimeID = 3
		if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
			return 0
		}
		return time.Duration(ts.Nano())
	}
}

type guardArena struct {
	mem []byte // whole mapping: PROT_NONE page, rw pages, PROT_NONE page
	rw  []byte
}

func newGuardArena(t *testing.T, bytes int) *guardArena {
	ps := os.Getpagesize()
	np := (bytes + ps - 1) / ps
	mem, err := syscall.Mmap(-1, 0, (np+2)*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	require.NoError(t, syscall.Mprotect(mem[:ps], syscall.PROT_NONE))
	require.NoError(t, syscall.Mprotect(mem[(np+1)*ps:], syscall.PROT_NONE))
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	return &guardArena{mem: mem, rw: mem[ps : (np+1)*ps]}
}

// place copies v into the arena flush with its end (atEnd) or its start.
func (g *guardArena) place(v []float32, atEnd bool) []float32 { return placeIn(g, v, atEnd) }

// place64 is place for float64s.
func (g *guardArena) place64(v []float64, atEnd bool) []float64 { return placeIn(g, v, atEnd) }

func placeIn[T float32 | float64](g *guardArena, v []T, atEnd bool) []T {
	n := len(v)
	if n == 0 {
		return nil
	}
	size := int(unsafe.Sizeof(v[0]))
	off := 0
	if atEnd {
		off = len(g.rw) - size*n
	}
	s := unsafe.Slice((*T)(unsafe.Pointer(&g.rw[off])), n)
	copy(s, v)
	return s
}

func TestGuardPages(t *testing.T) {
	const arenaBytes = 784 * 130 * 4
	ar := [6]*guardArena{}
	for i := range ar {
		ar[i] = newGuardArena(t, arenaBytes)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	run := func(name string, f func()) {
		t.Helper()
		t.Log(name) // visible with -v when the binary dies in f
		f()
	}
	forEachTier(t, "guard", func(t *testing.T) {
		for _, atEnd := range []bool{true, false} {
			for _, n := range testLengths {
				x, y := ar[0].place(randVec(rng, n), atEnd), ar[1].place(randVec(rng, n), atEnd)
				name := fmt.Sprintf("n=%d atEnd=%v", n, atEnd)
				run("Dot "+name, func() { Dot(x, y) })
				run("Axpy "+name, func() { Axpy(0.5, x, y) })
				run("Clamp "+name, func() { Clamp(x, -0.5, 0.5) })
				var v [6][]float64
				for i := range v {
					v[i] = ar[i].place64(randVec64(rng, n), atEnd)
				}
				run("Dot4x2 "+name, func() { Dot4x2(v[0], v[1], v[2], v[3], v[4], v[5]) })
			}
			for _, d := range sweepDims {
				if d*d*4 > arenaBytes {
					continue
				}
				z, h, c, invH := sweepProblem(rng, d, 2, 1)
				z, h = ar[0].place(z, atEnd), ar[1].place(h, atEnd)
				c, invH = ar[2].place(c, atEnd), ar[3].place(invH, atEnd)
				run(fmt.Sprintf("Sweep d=%d atEnd=%v", d, atEnd), func() { Sweep(z, h, c, invH, d, 0, float32(math.Inf(1))) })
			}
			for _, sh := range testShapes {
				m, k := sh[0], sh[1]
				for _, n := range widthsFor(m, k) {
					if m*k > 10000 && n > 17 && n != 64 {
						continue
					}
					a := ar[0].place(randVec(rng, m*k), atEnd)
					name := fmt.Sprintf("%dx%d n=%d atEnd=%v", m, k, n, atEnd)
					if n == 1 {
						x, y := ar[1].place(randVec(rng, k), atEnd), ar[2].place(randVec(rng, m), atEnd)
						run("MatVec "+name, func() { MatVec(y, a, m, k, x, true) })
						x2, y2 := ar[1].place(randVec(rng, m), atEnd), ar[2].place(randVec(rng, k), atEnd)
						run("MatTVec "+name, func() { MatTVec(y2, a, m, k, x2, true) })
					}
					b, c := ar[1].place(randVec(rng, k*n), atEnd), ar[2].place(randVec(rng, m*n), atEnd)
					run("Gemm "+name, func() { Gemm(c, a, b, m, k, n, true) })
					run("GemmNT "+name, func() { GemmNT(c, a, b, m, k, n, true) })
					if m*k <= 10000 {
						// zs is k×n here; h has k elements, ci n.
						zs, h, ci := ar[1].place(randVec(rng, k*n), atEnd), ar[2].place(randVec(rng, k), atEnd), ar[3].place(randVec(rng, n), atEnd)
						run("UnitUpdate "+name, func() { UnitUpdate(zs, h, ci, k-1, k, n, 0.5, 0, float32(math.Inf(1))) })
						run("UnitUpdate row 0 "+name, func() { UnitUpdate(zs, h, ci, 0, k, n, 0.5, -1, 1) })
					}
				}
			}
		}
	})
}
