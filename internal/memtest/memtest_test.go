package memtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var sink []byte

// TestAllocated: Allocated counts the process's heap allocations while f
// runs, so a goroutine of the test framework allocating at the same
// moment adds to it; the upper bounds take the least of a few trials.
func TestAllocated(t *testing.T) {
	least := func(f func()) uint64 {
		n := Allocated(f)
		for range 4 {
			n = min(n, Allocated(f))
		}
		return n
	}
	require.GreaterOrEqual(t, Allocated(func() { sink = make([]byte, 1<<20) }), uint64(1<<20))
	require.Less(t, least(func() { sink = make([]byte, 1<<20) }), uint64(2<<20))
	require.Less(t, least(func() {}), uint64(1<<10))
}
