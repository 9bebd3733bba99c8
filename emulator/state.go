package main

import cfgpkg "github.com/paycycle/paycycle/internal/config"

func registerStateFlag(s *cfgpkg.Set, cfg *config) {
	s.String(&cfg.stateFile, "state-file", envPrefix+"STATE_FILE", "",
		"keep billing keys and the ledger in this JSON file across restarts (written atomically; empty: in memory only)")
}
