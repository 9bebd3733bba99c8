package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// stateSaveInterval is how often a changed state is written: a killed emulator loses at most
// this much, a stopped one nothing (the state is written again on shutdown).
const stateSaveInterval = time.Second

func registerStateFlag(s *cfgpkg.Set, cfg *config) {
	s.String(&cfg.stateFile, "state-file", envPrefix+"STATE_FILE", "",
		"keep billing keys, the ledger and schedules in this JSON file across restarts (written atomically; empty: in memory only)")
}

// stateKeeper loads the emulator's state from a file at start and writes it back when it
// changes, so that a billing key registered through the demo page survives `make run`
// restarts (before, every key but the seeded ones was forgotten, and the subscription's next
// charge was hard-declined).
type stateKeeper struct {
	path string
	emu  *portonetest.Emulator
	log  *slog.Logger
	last []byte
}

// load restores the file's state; a missing file is a first start.
func (k *stateKeeper) load() (bool, error) {
	data, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("-state-file: %w", err)
	}
	if err := k.emu.Restore(data); err != nil {
		return false, fmt.Errorf("-state-file %s: %w (move it away to start empty)", k.path, err)
	}
	k.last = data
	return true, nil
}

// save writes the state when it differs from the last write: to a temporary file in the same
// folder, synced, then renamed over the old one, so a crash mid-write leaves the old state.
func (k *stateKeeper) save() error {
	data, err := k.emu.Snapshot()
	if err != nil {
		return err
	}
	if bytes.Equal(data, k.last) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(k.path), ".emulator-state-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil { // test buyer data
		return err
	}
	if err := os.Rename(tmp.Name(), k.path); err != nil {
		return err
	}
	k.last = data
	return nil
}

// run saves every stateSaveInterval until ctx ends, then once more.
func (k *stateKeeper) run(ctx context.Context) {
	t := time.NewTicker(stateSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.save(); err != nil {
				k.log.Error("saving the emulator state", slog.String("file", k.path), slog.String("error", err.Error()))
			}
		}
	}
}
