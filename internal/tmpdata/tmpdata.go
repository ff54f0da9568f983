// Package tmpdata is a TEMPORARY stand-in for package dataset (being
// written by another helper): it reads the gzip IDX files of MNIST-like
// sets so that training can be developed and measured. It is removed when
// package dataset lands.
package tmpdata

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/lrrn/lrrn/train"
)

// MNISTDir returns the data directory of the GoMNIST module in the module
// cache, or "" when it is absent.
func MNISTDir() string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			cache = strings.TrimSpace(string(out))
		}
	}
	if cache == "" {
		return ""
	}
	dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		return ""
	}
	return dir
}

func readGz(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(z)
}

// Load reads split "train" or "t10k" from dir.
func Load(dir, split string) (*train.Data, error) {
	img, err := readGz(filepath.Join(dir, split+"-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	lab, err := readGz(filepath.Join(dir, split+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	if len(img) < 16 || len(lab) < 8 {
		return nil, fmt.Errorf("%s: short IDX files", dir)
	}
	n := int(binary.BigEndian.Uint32(img[4:]))
	d := int(binary.BigEndian.Uint32(img[8:])) * int(binary.BigEndian.Uint32(img[12:]))
	if len(img) != 16+n*d || len(lab) != 8+n {
		return nil, fmt.Errorf("%s: IDX sizes do not match", dir)
	}
	data := &train.Data{X: make([]float32, n*d), Labels: lab[8:], N: n, D: d}
	for i, b := range img[16:] {
		data.X[i] = float32(b) / 255
	}
	return data, nil
}
