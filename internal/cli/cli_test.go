package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAndStatus(t *testing.T) {
	newFS := func(stderr *bytes.Buffer) *flag.FlagSet {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.Int("n", 1, "a number")
		fs.Usage = func() { fmt.Fprintln(stderr, "Usage: x [-n N]") }
		return fs
	}
	var e bytes.Buffer
	err := Parse(newFS(&e), []string{"-n", "z"}, &e)
	require.Empty(t, e.String(), "no usage dump on a bad flag")
	require.Equal(t, ExitUsage, Status("x", err, &e))
	require.Equal(t, "x: invalid value \"z\" for flag -n: parse error; see -h\n", e.String())

	e.Reset()
	err = Parse(newFS(&e), []string{"-h"}, &e)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Equal(t, ExitOK, Status("x", err, &e))
	require.Equal(t, "Usage: x [-n N]\n", e.String())

	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, ExitOK, ""},
		{errors.New("bad file\nsecond line"), ExitFailure, "x: bad file second line\n"},
		{fmt.Errorf("stopped: %w", context.Canceled), ExitInterrupted, "x: stopped: context canceled\n"},
		{fmt.Errorf("wrapped: %w", Usagef("--k %d: want more", 3)), ExitUsage, "x: wrapped: --k 3: want more; see -h\n"},
		{Usagef("already says see -h"), ExitUsage, "x: already says see -h\n"},
	} {
		e.Reset()
		require.Equal(t, tc.code, Status("x", tc.err, &e), "%v", tc.err)
		require.Equal(t, tc.msg, e.String())
	}
}

// TestParseInterspersed: flags before, between and after the positional
// arguments; a bad flag anywhere is a usage error.
func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	n := fs.Int("n", 1, "a number")
	q := fs.Bool("q", false, "quiet")
	var stderr bytes.Buffer
	pos, err := ParseInterspersed(fs, []string{"-n", "3", "a", "-q", "b"}, &stderr)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, pos)
	require.Equal(t, 3, *n)
	require.True(t, *q)
	_, err = ParseInterspersed(fs, []string{"a", "-bogus"}, &stderr)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
}

// TestNewFlagSet: -h prints the usage text then the flag defaults on
// stderr; a bad flag is returned, not printed, and does not exit.
func TestNewFlagSet(t *testing.T) {
	var e bytes.Buffer
	fs := NewFlagSet("x", "x does things.\n\nFlags:\n", &e)
	fs.Int("n", 1, "a number")
	require.Equal(t, "x", fs.Name())
	require.Equal(t, flag.ContinueOnError, fs.ErrorHandling())
	require.Same(t, &e, fs.Output())

	err := Parse(fs, []string{"-h"}, &e)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Equal(t, "x does things.\n\nFlags:\n  -n int\n    \ta number (default 1)\n", e.String())

	e.Reset()
	err = Parse(fs, []string{"-n", "z"}, &e)
	require.Empty(t, e.String())
	require.Equal(t, ExitUsage, Status("x", err, &e))
}
