// Package cli holds what lrrn's commands share: exit statuses, usage
// errors and flag parsing that reports a bad flag in one line.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses of every lrrn command.
const (
	ExitOK          = 0
	ExitFailure     = 1   // bad input files, I/O errors, failed runs
	ExitUsage       = 2   // wrong flags or arguments
	ExitInterrupted = 130 // SIGINT or SIGTERM
)

// ExitHelp is the paragraph of every command's -h on its exit statuses.
const ExitHelp = "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error (flags, arguments), 130 interrupted (Ctrl-C, SIGTERM).\n"

// UsageError is an error in the flags or arguments (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// NewFlagSet returns the flag set of a command (or subcommand) name: it
// returns parse errors (flag.ContinueOnError, for Parse), writes to stderr,
// and its Usage prints usage followed by the flag defaults.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args with fs. -h prints fs.Usage to stderr and returns
// flag.ErrHelp; any other flag error is returned as a UsageError, without
// the flag package's printing of the whole usage.
func Parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
		return err
	}
	if err != nil {
		return &UsageError{err.Error()}
	}
	return nil
}

// Status reports err on stderr in one line, prefixed with the command's
// name (with "; see -h" for usage errors), and returns the exit status.
func Status(name string, err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	var ue *UsageError
	if errors.As(err, &ue) {
		if !strings.Contains(msg, "see -h") {
			msg += "; see -h"
		}
		fmt.Fprintf(stderr, "%s: %s\n", name, msg)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, msg)
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	return ExitFailure
}

// IsTerminal tells whether w is a terminal (for progress lines).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ParseInterspersed is Parse for commands whose flags may stand after the
// positional arguments (lrrn-verify MODEL IMAGES --json): it parses flags
// up to each positional argument, collects it, and continues after it.
// It returns the positional arguments in order.
func ParseInterspersed(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := Parse(fs, args, stderr); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
