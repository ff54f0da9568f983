// Package atomicfile writes whole files so that a reader sees either the
// old content or the new, never a part: a temporary file in the same
// directory, then a rename.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes b to path atomically with mode 0644 (a temporary file in
// path's directory, renamed over path; removed on error).
func Write(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
