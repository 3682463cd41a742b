#include <algorithm>
#include <chrono>
#include <haven/crypto/crypto.hpp>
#include <haven/server/log.hpp>
#include <haven/server/sync_service.hpp>

namespace haven::server {

sync_service::sync_service(change_log& log, device_cursors& devices,
                           std::shared_ptr<const schema> record_schema, metrics& counters,
                           access_registry* access, login_guard& guard, sync::hlc_clock clock)
    : log_(log),
      devices_(devices),
      schema_(std::move(record_schema)),
      metrics_(counters),
      access_(access),
      guard_(guard),
      clock_(std::move(clock)) {}

void sync_service::refuse_push(const sync::peer& p, const std::string& why, errc code) {
  if (access_)
    audit_limited(*access_, &guard_, {unix_ms_now(), "push_refused", p.device_id, p.address, why});
  throw failure(code, why.rfind("refused", 0) == 0 ? why : "refused: " + why);
}

std::string sync_service::nonce() {
  return crypto::random_bytes(32);
}

device_standing sync_service::authenticate(const sync::hello& h, const sync::handshake& hs) {
  const std::int64_t now = unix_ms_now();
  const std::string device_id = h.device_id.substr(0, 64);
  // Failures count against the address and the device id both; a success
  // clears the device's count only, never its address's (a NAT's neighbours).
  const std::string credential = "device:" + device_id;
  auto refuse = [&](errc code, const std::string& why) {
    // The first few failures from an address have a row each, the rest a
    // summary row with their count (login_guard::suppressed_audits).
    audit_limited(*access_, &guard_, {now, "login_failed", device_id, hs.address, why});
    if (code == errc::unauthorized) guard_.failed(hs.address, credential, now);
    throw failure(code, "refused: " + why);
  };
  const auto d = access_->device(h.device_id);
  // A genuine signature is let in even while its address is backed off (a
  // neighbour behind the same NAT may have failed); anything else waits.
  if (!d || !crypto::verify(d->public_key, sync::proof_message(h, hs.nonce, hs.channel_binding),
                            h.proof)) {
    const auto wait = std::max(guard_.wait(hs.address, now), guard_.wait(credential, now));
    if (wait.count() > 0)
      refuse(errc::unauthorized,
             "too many failed sign-ins from this address or for this device; try again in " +
                 std::to_string((wait.count() + 999) / 1000) + " s");
    refuse(errc::unauthorized,
           d ? "the device's signature does not verify (a forged, replayed or relayed hello, or "
               "another key); enroll the device again"
             : "this device is not enrolled here; enroll it with haven enroll");
  }
  guard_.succeeded(credential);
  if (d->wiped_ms)
    refuse(errc::unauthorized, "this device erased its store after it was " +
                                   std::string(to_string(d->standing)) +
                                   "; enroll it again with haven enroll");
  if (d->role == device_role::coordinator)
    refuse(errc::forbidden,
           "a coordinator reads tallies over HTTP with a token and cannot sync records");
  if (h.team != d->team)
    refuse(errc::forbidden, "this device is enrolled in team " + d->team + ", not " + h.team);
  if (d->standing == device_standing::revoked) {
    const auto seen = devices_.device(d->device_id);
    const std::string last_sync =
        seen && seen->last_sync_ms ? utc_time(*seen->last_sync_ms) : "never";
    const std::string why = "revoked device \"" + d->name + "\" of team " + d->team +
                            " connected; refused and told to wipe; its last sync was " + last_sync +
                            ", so what it recorded after that is lost";
    // A revoked device's holder can connect again and again.
    audit_limited(*access_, &guard_, {now, "wipe_ordered", d->device_id, hs.address, why});
    log_repeated(log_level::warn, "wipe ordered", hs.address,
                 "wipe ordered device=" + d->device_id + " remote=" + hs.address + " reason=\"" +
                     why + "\"");
  }
  return d->standing;
}

sync::admission sync_service::admit(const sync::hello& h, const sync::handshake& hs) {
  const device_standing wipe = access_ ? authenticate(h, hs) : device_standing::active;
  if (wipe == device_standing::revoked) return {{}, wipe};  // no data moves, not even the cursor
  const device_info d = devices_.admit({h.device_id, h.team, h.node, hs.address}, unix_ms_now());
  sync::welcome w;
  w.schema_version = schema_->version();
  // Only a device with an older schema needs it (8 KB, on every connection
  // over a field network otherwise).
  if (h.schema_version < schema_->version()) w.schema_json = schema_->source();
  w.acked_seq = d.acked_seq;
  std::lock_guard lock(clock_mutex_);
  w.server_time = clock_.now();
  return {w, wipe};
}

sync::push_ack sync_service::push(const sync::peer& p, const sync::push_batch& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t cells = 0;
  for (const auto& change : batch.changes)
    if (change.team != p.team)
      refuse_push(p, "record " + change.id.hex() + " is of team " +
                         (valid_team(change.team) ? change.team : std::string("(invalid)")) +
                         ", and this device syncs team " + p.team +
                         " only; nothing of this push was saved");
  {
    std::lock_guard lock(clock_mutex_);
    for (const auto& change : batch.changes) {
      cells += change.cells.size();
      for (const auto& c : change.cells)
        if (auto ok = clock_.check(c.at.time); !ok) throw failure(ok.err());
    }
    for (const auto& change : batch.changes)
      for (const auto& c : change.cells) clock_.restore(c.at.time);
  }
  metrics_.changes_received += cells;
  const push_result r = [&] {
    try {
      return log_.push(p, batch, unix_ms_now());
    } catch (const failure& f) {
      if (f.err().code == errc::forbidden || f.err().code == errc::invalid_input)
        refuse_push(p, f.err().message, f.err().code);
      throw;
    }
  }();
  metrics_.changes_applied += r.stats.applied;
  metrics_.observe_push_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (r.stats.applied > 0) shared_.changed(r.head);
  if (r.stats.applied > 0 && notify_) notify_(p.team);
  if (r.stats.applied > 0 && committed_) committed_(r.head);
  return sync::push_ack{r.acked_seq};
}

sync::change_batch sync_service::pull(const sync::peer& p, std::uint64_t since,
                                      std::uint32_t max_cells) {
  if (const auto shared = shared_batch(p, since, max_cells)) {
    metrics_.changes_sent += shared->cells();
    return shared->batch();
  }
  return own_batch(p, since, max_cells);
}

sync::server_backend::encoded_batch sync_service::pull_encoded(const sync::peer& p,
                                                               std::uint64_t since,
                                                               std::uint32_t max_cells,
                                                               std::uint32_t version,
                                                               const sync::frame_limits& limits) {
  const auto shared = shared_batch(p, since, max_cells);
  if (!shared) return encode_batch(own_batch(p, since, max_cells), version, limits);
  metrics_.changes_sent += shared->cells();
  const auto& b = shared->batch();
  return {b.up_to, b.more, b.changes.empty(), shared->frame(version, limits)};
}

sync::change_batch sync_service::own_batch(const sync::peer& p, std::uint64_t since,
                                           std::uint32_t max_cells) {
  sync::change_batch batch = log_.pull(p.team, p.node, since, max_cells);
  metrics_.changes_sent += sync::cell_count(batch.changes);
  return batch;
}

std::shared_ptr<const shared_pulls::entry> sync_service::shared_batch(const sync::peer& p,
                                                                      std::uint64_t since,
                                                                      std::uint32_t max_cells) {
  if (!shared_.near_head(since)) return nullptr;
  auto whole =
      shared_.get(p.team, since, max_cells, [&] { return log_.pull(p.team, 0, since, max_cells); });
  // A device is spared its own cells: it gets a batch of its own.
  if (whole.batch->has_cells_of(p.node)) return nullptr;
  if (whole.shared) ++metrics_.shared_pulls;
  return std::move(whole.batch);
}

void sync_service::caught_up(const sync::peer& p) {
  devices_.synced(p.device_id, unix_ms_now());
  if (committed_) committed_(0);
}

device_standing sync_service::standing(const sync::peer& p) {
  if (!access_) return device_standing::active;
  return standings_
      .get(p.device_id,
           [&]() -> std::optional<device_standing> {
             const auto d = access_->device(p.device_id);
             if (!d) return std::nullopt;
             return d->standing;
           })
      .value_or(device_standing::revoked);
}

void sync_service::wiped(const sync::peer& p) {
  if (access_) access_->mark_wiped(p.device_id, unix_ms_now());
}

}  // namespace haven::server
