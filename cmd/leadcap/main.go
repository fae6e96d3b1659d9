// Command leadcap is the lead capture server for trade shows and
// conferences, and its operator's command line.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // conference time zones work on machines without zoneinfo

	"github.com/leadcap/leadcap/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], &cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	if err != nil && cli.ExitCode(err) == 1 {
		fmt.Fprintln(os.Stderr, "leadcap:", cli.ErrorText(err))
	}
	os.Exit(cli.ExitCode(err))
}
