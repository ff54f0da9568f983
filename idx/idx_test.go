package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"github.com/lrrn/lrrn/internal/memtest"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite the FuzzRead seed corpus")

// rawIDX builds an IDX file by hand, independently of Write.
func rawIDX(t Type, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, byte(t), byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// sampleImages is 3 images of 2×4 bytes.
func sampleImageBytes() []byte {
	p := make([]byte, 3*2*4)
	for i := range p {
		p[i] = byte(i * 11)
	}
	p[5] = 255
	return p
}

func TestReadImagesRawAndGzip(t *testing.T) {
	pix := sampleImageBytes()
	file := rawIDX(Uint8, []uint32{3, 2, 4}, pix)
	for name, data := range map[string][]byte{"raw": file, "gzip": gz(t, file)} {
		t.Run(name, func(t *testing.T) {
			im, err := ReadImagesFrom(bytes.NewReader(data))
			require.NoError(t, err)
			require.Equal(t, 3, im.N)
			require.Equal(t, 2, im.Rows)
			require.Equal(t, 4, im.Cols)
			require.Equal(t, 8, im.Dim())
			require.Len(t, im.Pixels, 24)
			for i, p := range pix {
				require.Equal(t, float32(p)/255, im.Pixels[i])
			}
			require.Equal(t, float32(1), im.Pixels[5])
			require.Equal(t, im.Pixels[16:24], im.Image(2))

			// A reader without a Len method, delivering one byte at a time.
			im2, err := ReadImagesFrom(iotest.OneByteReader(bytes.NewReader(data)))
			require.NoError(t, err)
			require.Equal(t, im, im2)

			path := filepath.Join(t.TempDir(), "images")
			require.NoError(t, os.WriteFile(path, data, 0o644))
			im3, err := ReadImages(path)
			require.NoError(t, err)
			require.Equal(t, im, im3)
		})
	}
}

func TestReadFloat32(t *testing.T) {
	vals := []float32{0, 0.5, -1.25, 3e-40, 1e30, float32(math.Copysign(0, -1))}
	var data []byte
	for _, v := range vals {
		data = binary.BigEndian.AppendUint32(data, math.Float32bits(v))
	}
	file := rawIDX(Float32, []uint32{1, 2, 3}, data)
	a, err := Read(bytes.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, Float32, a.Type)
	require.Equal(t, []int{1, 2, 3}, a.Dims)
	require.Equal(t, vals, a.F32)
	require.Equal(t, uint32(1)<<31, math.Float32bits(a.F32[5]))
	im, err := ReadImagesFrom(bytes.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, vals, im.Pixels, "float32 pixels are taken as stored")

	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		b := bytes.Clone(file)
		binary.BigEndian.PutUint32(b[4+12+4*4:], math.Float32bits(bad))
		_, err := Read(bytes.NewReader(b))
		require.ErrorIs(t, err, ErrFormat)
		require.Equal(t, fmt.Sprintf("idx: offset 32: element 4 = %v is not finite", bad), err.Error())
		_, err = ReadImagesFrom(bytes.NewReader(gz(t, b)))
		require.Equal(t, fmt.Sprintf("idx: offset 32 (decompressed): element 4 = %v is not finite", bad), err.Error())
	}
}

func TestReadLabels(t *testing.T) {
	file := rawIDX(Uint8, []uint32{5}, []byte{7, 2, 1, 0, 4})
	for _, data := range [][]byte{file, gz(t, file)} {
		l, err := ReadLabelsFrom(bytes.NewReader(data))
		require.NoError(t, err)
		require.Equal(t, []uint8{7, 2, 1, 0, 4}, l)
	}
	_, err := ReadLabelsFrom(bytes.NewReader(rawIDX(Uint8, []uint32{1, 5}, make([]byte, 5))))
	require.EqualError(t, err, "idx: offset 3: rank 2, but labels need rank 1")
	_, err = ReadLabelsFrom(bytes.NewReader(rawIDX(Float32, []uint32{1}, make([]byte, 4))))
	require.EqualError(t, err, "idx: offset 2: element type float32, but labels need unsigned bytes (0x08)")
}

func TestLabelledValidate(t *testing.T) {
	l := &Labelled{Images: Images{N: 3, Rows: 2, Cols: 1, Pixels: make([]float32, 6)}, Labels: []uint8{1, 2, 3}}
	require.NoError(t, l.Validate())
	cases := map[string]struct {
		mod func(l *Labelled)
		msg string
	}{
		"labels":   {func(l *Labelled) { l.Labels = l.Labels[:2] }, "idx: 3 images but 2 labels"},
		"pixels":   {func(l *Labelled) { l.Pixels = l.Pixels[:5] }, "idx: 5 pixels for 3 images of 2×1"},
		"n":        {func(l *Labelled) { l.N = 0 }, "idx: 6 pixels for 0 images of 2×1"},
		"rows":     {func(l *Labelled) { l.Rows, l.Cols = 0, 2 }, "idx: 6 pixels for 3 images of 0×2"},
		"cols":     {func(l *Labelled) { l.Cols = -1 }, "idx: 6 pixels for 3 images of 2×-1"},
		"overflow": {func(l *Labelled) { l.Pixels, l.N, l.Rows, l.Cols = nil, 1, 1<<32, 1<<32 }, "idx: 0 pixels for 1 images of 4294967296×4294967296"}, // N·Rows·Cols wraps to 0
	}
	for name, c := range cases {
		m := *l
		c.mod(&m)
		require.EqualError(t, m.Validate(), c.msg, name)
	}
	require.EqualError(t, (*Labelled)(nil).Validate(), "idx: no labelled images (nil)")
}

func TestLabelledSlice(t *testing.T) {
	l := &Labelled{Images: Images{N: 3, Rows: 1, Cols: 2, Pixels: []float32{0, 1, 2, 3, 4, 5}}, Labels: []uint8{7, 8, 9}}
	s := l.Slice(1, 3)
	require.NoError(t, s.Validate())
	require.Equal(t, &Labelled{Images: Images{N: 2, Rows: 1, Cols: 2, Pixels: []float32{2, 3, 4, 5}}, Labels: []uint8{8, 9}}, s)
	require.Equal(t, len(s.Pixels), cap(s.Pixels), "appending to the view must not write into l")
	require.Equal(t, len(s.Labels), cap(s.Labels))
	require.Empty(t, l.Slice(3, 3).Pixels)
	require.PanicsWithValue(t, "idx: Slice(2, 4) of 3 images", func() { l.Slice(2, 4) })
}

func TestReadRejects(t *testing.T) {
	good := rawIDX(Uint8, []uint32{3, 2, 4}, sampleImageBytes())
	cases := []struct {
		name, msg string
		data      []byte
		images    bool // read with ReadImagesFrom rather than Read
		kind      error
	}{
		{"empty", "idx: offset 0: data end inside the magic after 0 of 4 bytes (truncated)", nil, false, io.ErrUnexpectedEOF},
		{"wrong magic", "idx: offset 0: magic starts 00 01, want 00 00 (not an IDX file)", append([]byte{0, 1}, good[2:]...), false, nil},
		{"text", "idx: offset 0: magic starts 68 65, want 00 00 (not an IDX file)", []byte("hello, world\n"), false, nil},
		{"int16", "idx: offset 2: element type 0x0B (int16) is not supported; want 0x08 (unsigned byte) or 0x0D (float32)", rawIDX(0x0B, []uint32{2}, make([]byte, 4)), false, nil},
		{"unknown type", "idx: offset 2: element type 0x42 (unknown type 0x42) is not supported; want 0x08 (unsigned byte) or 0x0D (float32)", rawIDX(0x42, []uint32{2}, make([]byte, 2)), false, nil},
		{"rank 0", "idx: offset 3: rank 0, want 1 … 8", rawIDX(Uint8, nil, []byte{1}), false, nil},
		{"rank 9", "idx: offset 3: rank 9, want 1 … 8", rawIDX(Uint8, []uint32{1, 1, 1, 1, 1, 1, 1, 1, 1}, []byte{1}), false, nil},
		{"images of rank 1", "idx: offset 3: rank 1, but images need rank 3 (count, rows, columns)", rawIDX(Uint8, []uint32{4}, make([]byte, 4)), true, nil},
		{"images of rank 4", "idx: offset 3: rank 4, but images need rank 3 (count, rows, columns)", rawIDX(Uint8, []uint32{1, 1, 2, 2}, make([]byte, 4)), true, nil},
		{"zero dimension", "idx: offset 8: dimension 1 is 0", rawIDX(Uint8, []uint32{3, 0, 4}, nil), false, nil},
		{"too many elements", "idx: offset 12: dimension 2 = 1025 makes 1074790400 elements, more than 1073741824", rawIDX(Uint8, []uint32{1024, 1024, 1025}, nil), false, nil},
		{"largest dimension", "idx: offset 8: dimension 1 = 4294967295 makes 4294967295 elements, more than 1073741824", rawIDX(Uint8, []uint32{1, math.MaxUint32, math.MaxUint32}, nil), false, nil},
		{"truncated header", "idx: offset 8: data end inside dimension 1 after 2 of 4 bytes (truncated)", good[:10], false, io.ErrUnexpectedEOF},
		{"truncated data", "idx: offset 16: dimensions [3 2 4] describe 24 bytes of data, but 23 remain (truncated)", good[:len(good)-1], false, io.ErrUnexpectedEOF},
		{"trailing byte", "idx: offset 16: dimensions [3 2 4] describe 24 bytes of data, but 25 remain (trailing bytes)", append(bytes.Clone(good), 0), false, nil},
		{"gzip trailing byte", "idx: offset 40 (decompressed): unexpected bytes after the data", gz(t, append(bytes.Clone(good), 0)), false, nil},
		{"gzip truncated data", "idx: offset 39 (decompressed): data end after 23 of 24 bytes of elements (truncated)", gz(t, good[:len(good)-1]), false, io.ErrUnexpectedEOF},
		{"gzip truncated header", "idx: gzip header is truncated", gz(t, good)[:5], false, io.ErrUnexpectedEOF},
		{"gzip bad header", "idx: corrupt gzip header: gzip: invalid header", append([]byte{0x1f, 0x8b, 99}, gz(t, good)[3:]...), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.images {
				_, err = ReadImagesFrom(bytes.NewReader(c.data))
			} else {
				_, err = Read(bytes.NewReader(c.data))
			}
			require.Error(t, err)
			require.Equal(t, c.msg, err.Error())
			require.ErrorIs(t, err, ErrFormat)
			if c.kind != nil {
				require.ErrorIs(t, err, c.kind)
			} else {
				require.NotErrorIs(t, err, io.ErrUnexpectedEOF)
			}
		})
	}
}

func TestReadRejectsEveryTruncation(t *testing.T) {
	file := rawIDX(Uint8, []uint32{3, 2, 4}, sampleImageBytes())
	z := gz(t, file)
	for _, data := range [][]byte{file, z} {
		for n := range len(data) {
			for _, r := range []io.Reader{bytes.NewReader(data[:n]), iotest.HalfReader(bytes.NewReader(data[:n]))} {
				_, err := Read(r)
				require.ErrorIs(t, err, ErrFormat, "%d of %d bytes", n, len(data))
				require.ErrorIs(t, err, io.ErrUnexpectedEOF, "%d of %d bytes: %v", n, len(data), err)
			}
		}
	}
}

func TestReadRejectsCorruptGzip(t *testing.T) {
	file := rawIDX(Uint8, []uint32{3, 2, 4}, sampleImageBytes())
	z := gz(t, file)
	want, err := Read(bytes.NewReader(z))
	require.NoError(t, err)
	// A single-byte change after the gzip header is rejected (a deflate
	// error, or the CRC-32 or length check) unless it leaves the content
	// unchanged: deflate ignores the padding bits after its last block.
	rejected, harmless := 0, 0
	for pos := 10; pos < len(z); pos++ {
		for x := 1; x < 256; x++ {
			bad := bytes.Clone(z)
			bad[pos] ^= byte(x)
			got, err := Read(bytes.NewReader(bad))
			if err != nil {
				require.ErrorIs(t, err, ErrFormat, "byte %d xor %#x", pos, x)
				rejected++
				continue
			}
			require.Equal(t, want, got, "byte %d xor %#x changed the content undetected", pos, x)
			require.Less(t, pos, len(z)-8, "a change of the CRC-32 or length went undetected")
			harmless++
		}
	}
	t.Logf("%d corruptions rejected, %d harmless (padding bits)", rejected, harmless)
	require.Less(t, harmless, 256)
	bad := bytes.Clone(z)
	bad[len(bad)-8] ^= 1 // CRC-32 of the uncompressed data
	_, err = Read(bytes.NewReader(bad))
	require.EqualError(t, err, "idx: offset 40 (decompressed): checking for the end of the data: corrupt or truncated gzip data: gzip: invalid checksum")
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderErrorsAreNotFormatErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	file := rawIDX(Uint8, []uint32{3, 2, 4}, sampleImageBytes())
	for _, data := range [][]byte{nil, file[:3], file[:20], gz(t, file)[:5], gz(t, file)[:20]} {
		_, err := Read(&failingReader{data, boom})
		require.ErrorIs(t, err, boom)
		require.NotErrorIs(t, err, ErrFormat, "%v", err)
	}
	_, err := ReadFile(filepath.Join(t.TempDir(), "absent.gz"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NotErrorIs(t, err, ErrFormat)
}

// A header claiming the maximum size is followed by little data: memory
// must follow the data, not the claim.
func TestReadHugeClaimsAllocateLittle(t *testing.T) {
	file := rawIDX(Float32, []uint32{1 << 10, 1 << 10, 1 << 10}, make([]byte, 1000))
	var err error
	for name, r := range map[string]func() io.Reader{
		"raw":          func() io.Reader { return bytes.NewReader(file) },
		"raw, no Len":  func() io.Reader { return iotest.HalfReader(bytes.NewReader(file)) },
		"gzip":         func() io.Reader { return bytes.NewReader(gz(t, file)) },
		"gzip, zeroes": func() io.Reader { return bytes.NewReader(gz(t, append(bytes.Clone(file), make([]byte, 1<<20)...))) },
	} {
		n := memtest.Allocated(func() { _, err = Read(r()) })
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, name)
		assert.Less(t, n, uint64(16<<20), "%s: bytes allocated", name)
		n = memtest.Allocated(func() { _, err = ReadImagesFrom(r()) })
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, name)
		assert.Less(t, n, uint64(16<<20), "%s: bytes allocated", name)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	im := &Images{N: 3, Rows: 2, Cols: 4}
	for _, p := range sampleImageBytes() {
		im.Pixels = append(im.Pixels, float32(p)/255)
	}
	var buf bytes.Buffer
	require.NoError(t, WriteImages(&buf, im))
	require.Equal(t, rawIDX(Uint8, []uint32{3, 2, 4}, sampleImageBytes()), buf.Bytes())
	got, err := ReadImagesFrom(&buf)
	require.NoError(t, err)
	require.Equal(t, im, got)

	buf.Reset()
	require.NoError(t, WriteLabels(&buf, []uint8{9, 0, 3}))
	require.Equal(t, rawIDX(Uint8, []uint32{3}, []byte{9, 0, 3}), buf.Bytes())

	im.Pixels[7] = 0.5
	require.EqualError(t, WriteImages(io.Discard, im), "idx: pixel 7 of image 0 = 0.5 is not p/255 for a byte p")
	require.Error(t, WriteImages(io.Discard, &Images{N: 2, Rows: 2, Cols: 2, Pixels: make([]float32, 7)}))
	require.Error(t, WriteLabels(io.Discard, nil), "rank-1 arrays need at least one element")

	dir := t.TempDir()
	f := &Array{Type: Float32, Dims: []int{2, 3}, F32: []float32{1, 2, 3, -4, 5.5, 1e-3}}
	for _, name := range []string{"a.idx", "a.idx.gz"} {
		path := filepath.Join(dir, name)
		require.NoError(t, WriteFile(path, f))
		got, err := ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, f, got)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, filepath.Ext(name) == ".gz", raw[0] == 0x1f && raw[1] == 0x8b)
	}
	require.Error(t, WriteFile(filepath.Join(dir, "b.idx"), &Array{Type: Float32, Dims: []int{1}, F32: []float32{float32(math.NaN())}}))
	require.Error(t, WriteFile(filepath.Join(dir, "b.idx"), &Array{Type: 0x0B, Dims: []int{1}}))
	require.Error(t, WriteFile(filepath.Join(dir, "b.idx"), &Array{Type: Uint8, Dims: []int{2}, U8: []uint8{1}}))
	_, err = os.Stat(filepath.Join(dir, "b.idx"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestPixelByte(t *testing.T) {
	for p := range 256 {
		b, ok := PixelByte(float32(p) / 255)
		require.True(t, ok)
		require.Equal(t, uint8(p), b)
	}
	for _, x := range []float32{-0.001, 1.001, 0.5, float32(math.NaN()), float32(math.Inf(1)), math.Nextafter32(1.0/255, 1)} {
		_, ok := PixelByte(x)
		require.False(t, ok, "%v", x)
	}
}

// TestMNISTFixture reads the committed MNIST fixture and checks it against
// a decoding that does not use this package: compress/gzip and the IDX
// layout by hand.
func TestMNISTFixture(t *testing.T) {
	imPath := filepath.Join("..", "testdata", "mnist-t500-images-idx3-ubyte.gz")
	lbPath := filepath.Join("..", "testdata", "mnist-t500-labels-idx1-ubyte.gz")
	im, err := ReadImages(imPath)
	require.NoError(t, err)
	labels, err := ReadLabels(lbPath)
	require.NoError(t, err)
	require.NoError(t, (&Labelled{Images: *im, Labels: labels}).Validate())
	require.Equal(t, 500, im.N)
	require.Equal(t, 28, im.Rows)
	require.Equal(t, 28, im.Cols)
	// The first MNIST test labels, as published.
	require.Equal(t, []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, labels[:10])

	raw := func(path string) []byte {
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		b, err := io.ReadAll(zr)
		require.NoError(t, err)
		return b
	}
	ri := raw(imPath)
	require.Equal(t, []byte{0, 0, 8, 3, 0, 0, 1, 0xf4, 0, 0, 0, 28, 0, 0, 0, 28}, ri[:16])
	require.Len(t, ri, 16+500*784)
	for i, p := range ri[16:] {
		if im.Pixels[i] != float32(p)/255 {
			t.Fatalf("pixel %d: %v, want %d/255", i, im.Pixels[i], p)
		}
	}
	rl := raw(lbPath)
	require.Equal(t, []byte{0, 0, 8, 1, 0, 0, 1, 0xf4}, rl[:8])
	require.Equal(t, rl[8:], labels)
	for _, l := range labels {
		require.Less(t, l, uint8(10))
	}
}

func fuzzReadSeeds(t testing.TB) map[string][]byte {
	images := rawIDX(Uint8, []uint32{3, 2, 4}, sampleImageBytes())
	labels := rawIDX(Uint8, []uint32{5}, []byte{7, 2, 1, 0, 4})
	var fdata []byte
	for _, v := range []float32{0, 0.5, -1.25, 1e30} {
		fdata = binary.BigEndian.AppendUint32(fdata, math.Float32bits(v))
	}
	floats := rawIDX(Float32, []uint32{2, 2}, fdata)
	return map[string][]byte{
		"images":        images,
		"labels":        labels,
		"float32":       floats,
		"images-gz":     gz(t, images),
		"labels-gz":     gz(t, labels),
		"float32-gz":    gz(t, floats),
		"huge-claim":    rawIDX(Uint8, []uint32{1 << 10, 1 << 10, 1 << 10}, make([]byte, 16)),
		"huge-claim-gz": gz(t, rawIDX(Float32, []uint32{1 << 10, 1 << 10, 1 << 10}, make([]byte, 4096))),
		"text":          []byte("hello, world\n"),
	}
}

func TestFuzzReadCorpus(t *testing.T) {
	if !*updateFixtures {
		t.Skip("writes the FuzzRead seed corpus with -update-fixtures")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, b := range fuzzReadSeeds(t) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644))
	}
}

// FuzzRead: the readers never panic, report only format errors for
// in-memory input, agree with each other, and whatever Read accepts writes
// back to the same IDX bytes.
func FuzzRead(f *testing.F) {
	for _, b := range fuzzReadSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data))
		im, imErr := ReadImagesFrom(bytes.NewReader(data))
		lb, lbErr := ReadLabelsFrom(bytes.NewReader(data))
		for _, e := range []error{err, imErr, lbErr} {
			if e != nil && !errors.Is(e, ErrFormat) {
				t.Fatalf("error not matching ErrFormat: %v", e)
			}
		}
		if err != nil {
			if imErr == nil || lbErr == nil {
				t.Fatalf("Read rejects (%v) what ReadImagesFrom or ReadLabelsFrom accepts", err)
			}
			return
		}
		if (len(a.Dims) == 3) != (imErr == nil) {
			t.Fatalf("rank %d, ReadImagesFrom error %v", len(a.Dims), imErr)
		}
		if (len(a.Dims) == 1 && a.Type == Uint8) != (lbErr == nil) {
			t.Fatalf("rank %d type %v, ReadLabelsFrom error %v", len(a.Dims), a.Type, lbErr)
		}
		if imErr == nil && len(im.Pixels) != a.Len() {
			t.Fatalf("%d pixels for %d elements", len(im.Pixels), a.Len())
		}
		if lbErr == nil && !bytes.Equal(lb, a.U8) {
			t.Fatal("labels differ from the array")
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("accepted array does not write: %v", err)
		}
		raw := data
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if raw, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(buf.Bytes(), raw) {
			t.Fatal("written bytes differ from the IDX bytes read")
		}
	})
}

func BenchmarkReadImages(b *testing.B) {
	pix := make([]byte, 1000*784)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	file := rawIDX(Uint8, []uint32{1000, 28, 28}, pix)
	z := gz(b, file)
	for name, data := range map[string][]byte{"raw": file, "gzip": z} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(pix)))
			for b.Loop() {
				if _, err := ReadImagesFrom(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
