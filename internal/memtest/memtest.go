// Package memtest measures what a piece of code allocates, for the tests
// that bound the memory a hostile input may cost.
package memtest

import "runtime"

// Allocated returns the bytes allocated on the heap while f runs (after a
// collection, so that earlier garbage does not count).
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
