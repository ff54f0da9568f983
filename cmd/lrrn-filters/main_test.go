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
		"one arg":    {[]string{"x"}, 2, "want two arguments"},
		"absent":     {[]string{"absent.lrrn", out}, 1, "absent.lrrn"},
		"not square": {[]string{"../../testdata/tiny-5-4-3.bin", out}, 1, "not a square"},
		"layer":      {[]string{"--layer", "7", "../../testdata/random-784-64-64-10.bin", out}, 1, "out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			var so, se bytes.Buffer
			require.Equal(t, tc.code, run(tc.args, &so, &se))
			require.Contains(t, se.String(), tc.want)
		})
	}
}
