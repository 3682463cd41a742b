#include "sync_loop.hpp"

#include <chrono>
#include <haven/client/sync_client.hpp>

namespace haven::kiosk {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

sync_loop::sync_loop(std::filesystem::path db, client::store_options options,
                     std::function<void()> on_remote_changes)
    : db_(std::move(db)),
      options_(std::move(options)),
      on_remote_changes_(std::move(on_remote_changes)),
      thread_([this] { run(); }) {}

sync_loop::~sync_loop() {
  stopping_ = true;
  woken_.notify_all();
  thread_.join();
}

sync_state sync_loop::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void sync_loop::wake() {
  std::lock_guard lock(mutex_);
  wake_ = true;
  woken_.notify_all();
}

void sync_loop::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  woken_.wait_for(lock, d, [&] { return wake_ || stopping_.load(); });
  wake_ = false;
}

void sync_loop::note_event(std::string_view event) {
  std::lock_guard lock(mutex_);
  if (event.starts_with("caught up")) {
    state_ = sync_state{true, std::nullopt, "", now_ms()};
  } else if (event.starts_with("connected")) {
    state_.last_problem.clear();
  } else if (event.find("reconnecting") != std::string_view::npos) {
    state_.online = false;
    if (!state_.offline_since_ms) state_.offline_since_ms = now_ms();
    state_.last_problem = std::string(event.substr(0, event.find("; reconnecting")));
  }
}

void sync_loop::run() {
  while (!stopping_) {
    // Opened afresh for every run: the page's connection may have enrolled
    // the store (a new team, node and keys) since the last one.
    auto opened = client::store::open(db_, options_);
    if (!opened) {
      wait(std::chrono::seconds(1));
      continue;
    }
    const auto db = std::move(opened).value();
    auto options = client::sync_options_for(*db, std::nullopt, std::nullopt);
    if (!options || options->server_url.empty()) {  // not enrolled (yet, or any more)
      wait(std::chrono::seconds(1));
      continue;
    }
    options->on_event = [this](std::string_view e) { note_event(e); };
    options->on_progress = [this, seen = std::size_t{0}](const sync::sync_progress& p) mutable {
      if (p.changes_down != seen && p.changes_down > 0) on_remote_changes_();  // more came down
      seen = p.changes_down;
      std::lock_guard lock(mutex_);
      state_.offline_since_ms.reset();
      state_.last_exchange_ms = now_ms();
    };
    options->should_stop = [this] { return stopping_.load(); };
    auto ended = client::sync_watch(*db, options.value());
    on_remote_changes_();  // a wipe ends the watch; whatever else ended it, look again
    {
      std::lock_guard lock(mutex_);
      state_.online = false;
      if (!ended) {
        if (!state_.offline_since_ms) state_.offline_since_ms = now_ms();
        state_.last_problem = ended.err().message;
      }
    }
    wait(std::chrono::seconds(ended ? 1 : 15));
  }
}

}  // namespace haven::kiosk
