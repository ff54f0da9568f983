package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFilters(t *testing.T) {
	out := filepath.Join(t.TempDir(), "f.png")
	var so, se bytes.Buffer
	require.Equal(t, 0, run([]string{"../../testdata/random-784-64-64-10.bin", out}, &so, &se), se.String())
	require.Contains(t, so.String(), "64 filters of layer 0")
	f, err := os.Open(out)
	require.NoError(t, err)
	img, err := png.Decode(f)
	f.Close()
	require.NoError(t, err)
	require.Equal(t, 8*(28*3+4)+4, img.Bounds().Dx())

	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"one arg":    {[]string{"x"}, 2, "lrrn-filters: want two arguments, MODEL and OUT.png (got 1); see -h\n"},
		"bad flag":   {[]string{"--layer", "x", "a", "b"}, 2, "lrrn-filters: invalid value \"x\" for flag -layer: parse error; see -h\n"},
		"negative":   {[]string{"--layer", "-1", "a", "b"}, 2, "--layer -1: want 0 or more; see -h\n"},
		"absent":     {[]string{"absent.lrrn", out}, 1, "absent.lrrn"},
		"not square": {[]string{"../../testdata/tiny-5-4-3.bin", out}, 1, "not a square"},
		"layer":      {[]string{"--layer", "7", "../../testdata/random-784-64-64-10.bin", out}, 1, "out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			var so, se bytes.Buffer
			require.Equal(t, tc.code, run(tc.args, &so, &se))
			require.Contains(t, se.String(), tc.want)
			require.Equal(t, 1, bytes.Count(se.Bytes(), []byte("\n")), "one line: %q", se.String())
		})
	}
}
