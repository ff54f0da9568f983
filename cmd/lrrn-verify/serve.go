package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/lrrn/lrrn/verify/service"
)

// runServe serves the certifier until ctx is cancelled (SIGTERM, SIGINT),
// then stops accepting connections and waits for the requests in flight.
func runServe(ctx context.Context, o *options, stderr io.Writer) error {
	c, err := loadCertifier(o)
	if err != nil {
		return err
	}
	h, err := service.New(c, service.Options{MaxBodyBytes: o.maxBody, MaxBatch: o.maxBatch})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // a client trickling a body does not hold a handler forever
		IdleTimeout:       2 * time.Minute,
	}
	b := c.Bounds()
	fmt.Fprintf(stderr, "lrrn-verify: serving %s (ρ ≤ %.4f, %d passes) on http://%s\n", o.model, b.Rho, c.Options().Passes, l.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(stderr, "lrrn-verify: shutting down, waiting up to %v for requests in flight\n", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(stderr, "lrrn-verify: stopped")
	return nil
}
