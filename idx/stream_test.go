package idx

import (
	"bytes"
	"context"
	"errors"
	"github.com/lrrn/lrrn/internal/memtest"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manyImages is n images of 3×5 bytes with varied values.
func manyImages(n int) []byte {
	p := make([]byte, n*15)
	for i := range p {
		p[i] = byte(i*37 + i/15)
	}
	return p
}

// readAllImages reads r in pieces of k images.
func readAllImages(t *testing.T, r *ImageReader, k int) ([]float32, error) {
	var got []float32
	buf := make([]float32, k*r.Dim())
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			require.Zero(t, n)
			return got, nil
		}
		if err != nil {
			return got, err
		}
		require.LessOrEqual(t, n, k)
		got = append(got, buf[:n*r.Dim()]...)
	}
}

// TestImageReaderMatchesReadImages: streaming in any piece size gives the
// images ReadImages gives, for raw and gzip, bytes and float32.
func TestImageReaderMatchesReadImages(t *testing.T) {
	const n = 1000
	u8 := rawIDX(Uint8, []uint32{n, 3, 5}, manyImages(n))
	f := make([]byte, 0, 4*n*15)
	for i, b := range manyImages(n) {
		f = append(f, 0x3f, b, byte(i), 0) // finite float32 values
	}
	f32 := rawIDX(Float32, []uint32{n, 3, 5}, f)
	dir := t.TempDir()
	for name, file := range map[string][]byte{"u8": u8, "u8.gz": gz(t, u8), "f32": f32, "f32.gz": gz(t, f32)} {
		want, err := ReadImagesFrom(bytes.NewReader(file))
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, file, 0o644))
		for _, k := range []int{1, 7, 64, 999, 1000, 5000} {
			r, err := OpenImages(context.Background(), path)
			require.NoError(t, err)
			assert.Equal(t, [3]int{n, 3, 5}, [3]int{r.N, r.Rows, r.Cols})
			got, err := readAllImages(t, r, k)
			require.NoError(t, err, "%s k=%d", name, k)
			require.Equal(t, want.Pixels, got, "%s k=%d", name, k)
			require.NoError(t, r.Close())

			r, err = NewImageReader(bytes.NewReader(file))
			require.NoError(t, err)
			got, err = readAllImages(t, r, k)
			require.NoError(t, err)
			require.Equal(t, want.Pixels, got)
		}
	}
}

// TestImageReaderErrors: a stream reports what ReadImages reports — here
// trailing bytes and truncation, at the end or where the data end.
func TestImageReaderErrors(t *testing.T) {
	good := rawIDX(Uint8, []uint32{10, 3, 5}, manyImages(10))
	for name, tc := range map[string]struct {
		file []byte
		want string
	}{
		"trailing, gzip":  {gz(t, append(bytes.Clone(good), 1)), "idx: offset 166 (decompressed): unexpected bytes after the data"},
		"truncated, gzip": {gz(t, good[:100]), "idx: offset 100 (decompressed): data end after 84 of 150 bytes of elements (truncated)"},
		"truncated, raw":  {good[:100], "idx: offset 16: dimensions [10 3 5] describe 150 bytes of data, but 84 remain (truncated)"},
		"rank 1":          {rawIDX(Uint8, []uint32{3}, []byte{1, 2, 3}), "idx: offset 3: rank 1, but images need rank 3 (count, rows, columns)"},
		"huge image":      {rawIDX(Uint8, []uint32{1, 1 << 16, 1 << 16}, nil), "idx: offset 12: dimension 2 = 65536 makes images of 4294967296 pixels, more than 1073741824"},
	} {
		r, err := NewImageReader(bytes.NewReader(tc.file))
		if err == nil {
			_, err = readAllImages(t, r, 4)
		}
		require.ErrorIs(t, err, ErrFormat, name)
		require.EqualError(t, err, tc.want, name)
	}
}

// TestImageReaderHugeCount: a 10-million-image header (7.8·10⁹ pixels, more
// than MaxElements, which bounds whole-array reads) is fine for a stream;
// reading 5 images reads 5 images, whatever the header claims, and
// allocates little.
func TestImageReaderHugeCount(t *testing.T) {
	file := gz(t, append(rawIDX(Uint8, []uint32{10_000_000, 28, 28}, nil), make([]byte, 5*784)...))
	var r *ImageReader
	var err error
	n := memtest.Allocated(func() {
		r, err = NewImageReader(bytes.NewReader(file))
		require.NoError(t, err)
		buf := make([]float32, 5*784)
		k, err := r.Read(buf)
		require.NoError(t, err)
		require.Equal(t, 5, k)
	})
	assert.Equal(t, 10_000_000, r.N)
	assert.Less(t, n, uint64(1<<20), "bytes allocated")
	_, err = r.Read(make([]float32, 784))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestLabelReader reads labels in pieces and checks the end.
func TestLabelReader(t *testing.T) {
	labels := []byte{3, 1, 4, 1, 5, 9, 2, 6}
	r, err := NewLabelReader(bytes.NewReader(gz(t, rawIDX(Uint8, []uint32{8}, labels))))
	require.NoError(t, err)
	require.Equal(t, 8, r.N)
	var got []byte
	buf := make([]byte, 3)
	for {
		k, err := r.Read(buf)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, buf[:k]...)
	}
	require.Equal(t, labels, got)
	_, err = NewLabelReader(bytes.NewReader(rawIDX(Uint8, []uint32{2, 2, 2}, make([]byte, 8))))
	require.EqualError(t, err, "idx: offset 3: rank 3, but labels need rank 1")
}

// FuzzStream: streaming a file in pieces of k images (or labels) accepts
// exactly what ReadImagesFrom (ReadLabelsFrom) accepts, with the same
// values, and its errors match ErrFormat.
func FuzzStream(f *testing.F) {
	for _, b := range fuzzReadSeeds(f) {
		f.Add(b, uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		k = max(k%16, 1)
		want, wantErr := ReadImagesFrom(bytes.NewReader(data))
		var got []float32
		r, err := NewImageReader(bytes.NewReader(data))
		if err == nil && r.Dim() > 1<<16 {
			return // the caller's buffer, not the reader, would be the problem
		}
		if err == nil {
			got, err = readAllImages(t, r, int(k))
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error not matching ErrFormat: %v", err)
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("stream error %v, ReadImagesFrom error %v", err, wantErr)
		}
		if err == nil && !slices.Equal(want.Pixels, got) {
			t.Fatal("pixels differ")
		}

		wantL, wantErr := ReadLabelsFrom(bytes.NewReader(data))
		lr, err := NewLabelReader(bytes.NewReader(data))
		var gotL []uint8
		if err == nil {
			buf := make([]uint8, k)
			for {
				n, rerr := lr.Read(buf)
				if rerr == io.EOF {
					break
				}
				if rerr != nil {
					err = rerr
					break
				}
				gotL = append(gotL, buf[:n]...)
			}
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("label stream error %v, ReadLabelsFrom error %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(wantL, gotL) {
			t.Fatal("labels differ")
		}
	})
}
