//go:build unix

package idx

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenImagesCancel: a FIFO without a writer blocks open(2); cancelling
// the context ends OpenImages at once. With a writer that stalls, a Read
// blocked on the pipe ends too.
func TestOpenImagesCancel(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := OpenImages(ctx, fifo)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Second)

	// A writer that sends the header and one image, then stalls.
	w := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			w <- nil
			return
		}
		f.Write(rawIDX(Uint8, []uint32{3, 3, 5}, manyImages(1)))
		w <- f
	}()
	ctx, cancel = context.WithCancel(context.Background())
	r, err := OpenImages(ctx, fifo)
	require.NoError(t, err)
	f := <-w
	require.NotNil(t, f)
	defer f.Close()
	buf := make([]float32, 15)
	k, err := r.Read(buf)
	require.NoError(t, err)
	require.Equal(t, 1, k)
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	_, err = r.Read(buf)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
	require.NoError(t, r.Close())
}
