package memtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var sink []byte

func TestAllocated(t *testing.T) {
	n := Allocated(func() { sink = make([]byte, 1<<20) })
	require.GreaterOrEqual(t, n, uint64(1<<20))
	require.Less(t, n, uint64(2<<20))
	require.Less(t, Allocated(func() {}), uint64(1<<10))
}
