/// The Lua scripts behind ``RedisJobQueue``: each state change of a job is one script, so Redis runs
/// it atomically and no other client sees a job half-moved between its sets.
///
/// Keys (`taskshim:` prefix): `ids` (the id counter), `queues` (a set of queue names), `job:<id>` (a
/// hash: queue, type, payload, status, attempt, max, delay, backoff, priority, unique, worker, result,
/// error, created, available, started, finished; times in ms since the epoch), and per queue
/// `queue:<name>:` + `ready` (zset, priority first then the oldest id), `delayed` (zset by the time it
/// becomes available), `running` (zset by lease expiry), `completed` and `failed` (zsets by finish
/// time), `unique` (hash: unique key to the job holding it), `counts` (hash: jobs per status) and
/// `dead` (a stream of failed jobs, capped near 10,000 entries, to follow with XREAD). Scripts that
/// make jobs available now publish the queue's name on the channel `taskshim:wake`.
extension RedisJobQueue {
    static let prelude = """
        local P = 'taskshim:'
        local function qk(q, part) return P .. 'queue:' .. q .. ':' .. part end
        local function jk(id) return P .. 'job:' .. id end
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function queues_of(name)
          if name ~= '' then return {name} end
          return redis.call('SMEMBERS', P .. 'queues')
        end
        local function count(q, status, delta) redis.call('HINCRBY', qk(q, 'counts'), status, delta) end
        -- priority first (higher sooner), then the oldest id; exact while |priority| < 2^11 and ids < 2^40
        local function ready_score(priority, id) return -tonumber(priority or 0) * 1099511627776 + tonumber(id) end
        local function free_unique(q, key, id)
          if key and redis.call('HGET', qk(q, 'unique'), key) == tostring(id) then redis.call('HDEL', qk(q, 'unique'), key) end
        end
        local function fail_for_good(id, q, err, now)
          local key = jk(id)
          local f = redis.call('HMGET', key, 'unique', 'type', 'attempt')
          redis.call('HSET', key, 'status', 'failed', 'error', err, 'finished', now)
          redis.call('ZADD', qk(q, 'failed'), now, id)
          count(q, 'failed', 1)
          free_unique(q, f[1], id)
          redis.call('XADD', qk(q, 'dead'), 'MAXLEN', '~', 10000, '*', 'job_id', id, 'type', f[2] or '', 'attempt', f[3] or '0', 'error', err)
        end

        """

    /// ARGV: per job queue, type, payload, max attempts, retry delay (s), priority, unique key ('' for
    /// none), delay (ms), backoff. Per job its new id, or 0 when its unique key is held by a waiting or running job.
    static let enqueue = prelude + """
        local now = now_ms()
        local ids = {}
        for i = 1, #ARGV, 9 do
          local q, ukey = ARGV[i], ARGV[i + 6]
          local held = false
          if ukey ~= '' then
            local holder = redis.call('HGET', qk(q, 'unique'), ukey)
            if holder then
              local st = redis.call('HGET', jk(holder), 'status')
              held = st == 'queued' or st == 'retry' or st == 'running'
            end
          end
          if held then
            ids[#ids + 1] = 0
          else
            local id = redis.call('INCR', P .. 'ids')
            local available = now + tonumber(ARGV[i + 7])
            redis.call('HSET', jk(id), 'queue', q, 'type', ARGV[i + 1], 'payload', ARGV[i + 2], 'status', 'queued', 'attempt', 0,
                       'max', ARGV[i + 3], 'delay', ARGV[i + 4], 'priority', ARGV[i + 5], 'created', now, 'available', available,
                       'backoff', ARGV[i + 8])
            if ukey ~= '' then
              redis.call('HSET', jk(id), 'unique', ukey)
              redis.call('HSET', qk(q, 'unique'), ukey, id)
            end
            if available > now then
              redis.call('ZADD', qk(q, 'delayed'), available, id)
            else
              redis.call('ZADD', qk(q, 'ready'), ready_score(ARGV[i + 5], id), id)
            end
            count(q, 'queued', 1)
            redis.call('SADD', P .. 'queues', q)
            if available <= now then redis.call('PUBLISH', P .. 'wake', q) end
            ids[#ids + 1] = id
          end
        end
        return ids
        """

    /// ARGV: queue, worker, limit, lease (ms). Flat: id, type, payload, attempt, max, delay per job.
    static let claim = prelude + """
        local q, worker, limit, lease = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
        local now = now_ms()
        local due = redis.call('ZRANGEBYSCORE', qk(q, 'delayed'), '-inf', now, 'LIMIT', 0, 1000)
        for _, id in ipairs(due) do
          redis.call('ZADD', qk(q, 'ready'), ready_score(redis.call('HGET', jk(id), 'priority'), id), id)
        end
        if #due > 0 then redis.call('ZREM', qk(q, 'delayed'), unpack(due)) end
        local popped = redis.call('ZPOPMIN', qk(q, 'ready'), limit)
        local out, leases, was = {}, {}, {}
        local expiry = now + lease
        for i = 1, #popped, 2 do
          local id = popped[i]
          local key = jk(id)
          local f = redis.call('HMGET', key, 'status', 'type', 'payload', 'attempt', 'max', 'delay', 'started')
          if f[1] then
            local attempt = tonumber(f[4]) + 1
            if f[7] then
              redis.call('HSET', key, 'status', 'running', 'attempt', attempt, 'worker', worker)
            else
              redis.call('HSET', key, 'status', 'running', 'attempt', attempt, 'worker', worker, 'started', now)
            end
            leases[#leases + 1] = expiry
            leases[#leases + 1] = id
            was[f[1]] = (was[f[1]] or 0) + 1
            for _, v in ipairs({id, f[2], f[3], tostring(attempt), f[5], f[6]}) do out[#out + 1] = v end
          end
        end
        if #leases > 0 then
          redis.call('ZADD', qk(q, 'running'), unpack(leases))
          for status, n in pairs(was) do count(q, status, -n) end
          count(q, 'running', #leases / 2)
        end
        return out
        """

    /// ARGV: worker, then id, attempt, result per job. The ids recorded (still this worker's try).
    static let complete = prelude + """
        local worker = ARGV[1]
        local now = now_ms()
        local done, byQueue = {}, {}
        for i = 2, #ARGV, 3 do
          local id = ARGV[i]
          local key = jk(id)
          local f = redis.call('HMGET', key, 'status', 'worker', 'attempt', 'queue', 'unique', 'error')
          if f[1] == 'running' and f[2] == worker and f[3] == ARGV[i + 1] then
            redis.call('HSET', key, 'status', 'completed', 'result', ARGV[i + 2], 'finished', now)
            if f[6] then redis.call('HDEL', key, 'error') end
            local ids = byQueue[f[4]]
            if not ids then
              ids = {}
              byQueue[f[4]] = ids
            end
            ids[#ids + 1] = id
            free_unique(f[4], f[5], id)
            done[#done + 1] = id
          end
        end
        for q, ids in pairs(byQueue) do
          redis.call('ZREM', qk(q, 'running'), unpack(ids))
          local scored = {}
          for _, id in ipairs(ids) do
            scored[#scored + 1] = now
            scored[#scored + 1] = id
          end
          redis.call('ZADD', qk(q, 'completed'), unpack(scored))
          count(q, 'running', -#ids)
          count(q, 'completed', #ids)
        end
        return done
        """

    /// ARGV: id, worker, attempt, error, retryable ('1'/'0'). 'retry', 'failed', or 'ignored' (not this worker's try).
    static let fail = prelude + """
        local id = ARGV[1]
        local key = jk(id)
        local f = redis.call('HMGET', key, 'status', 'worker', 'attempt', 'queue', 'max', 'delay', 'backoff')
        if not (f[1] == 'running' and f[2] == ARGV[2] and f[3] == ARGV[3]) then return 'ignored' end
        local now, q = now_ms(), f[4]
        redis.call('ZREM', qk(q, 'running'), id)
        count(q, 'running', -1)
        redis.call('HDEL', key, 'worker')
        if ARGV[5] == '1' and tonumber(f[3]) < tonumber(f[5]) then
          local seconds = tonumber(f[6]) * tonumber(f[3])
          if f[7] == 'exponential' then
            local t = redis.call('TIME')
            seconds = math.min(86400, tonumber(f[6]) * 2 ^ (tonumber(f[3]) - 1)) * (0.5 + (tonumber(t[2]) % 1000) / 2000)
          end
          local available = now + math.floor(seconds * 1000)
          redis.call('HSET', key, 'status', 'retry', 'error', ARGV[4], 'available', available)
          redis.call('ZADD', qk(q, 'delayed'), available, id)
          count(q, 'retry', 1)
          return 'retry'
        end
        fail_for_good(id, q, ARGV[4], now)
        return 'failed'
        """

    /// ARGV: id, worker, attempt. Back at once, the attempt not counted.
    static let release = prelude + """
        local id = ARGV[1]
        local key = jk(id)
        local f = redis.call('HMGET', key, 'status', 'worker', 'attempt', 'queue', 'priority')
        if not (f[1] == 'running' and f[2] == ARGV[2] and f[3] == ARGV[3]) then return 0 end
        local q = f[4]
        redis.call('HSET', key, 'status', 'retry', 'attempt', tonumber(f[3]) - 1, 'available', now_ms(),
                   'error', 'released: the worker ' .. ARGV[2] .. ' stopped')
        redis.call('HDEL', key, 'worker')
        redis.call('ZREM', qk(q, 'running'), id)
        redis.call('ZADD', qk(q, 'ready'), ready_score(f[5], id), id)
        count(q, 'running', -1)
        count(q, 'retry', 1)
        redis.call('PUBLISH', P .. 'wake', q)
        return 1
        """

    /// ARGV: worker, lease (ms), ids...
    static let heartbeat = prelude + """
        local worker = ARGV[1]
        local expiry = now_ms() + tonumber(ARGV[2])
        for i = 3, #ARGV do
          local key = jk(ARGV[i])
          local f = redis.call('HMGET', key, 'status', 'worker', 'queue')
          if f[1] == 'running' and f[2] == worker then
            redis.call('ZADD', qk(f[3], 'running'), 'XX', expiry, ARGV[i])
          end
        end
        return 0
        """

    /// ARGV: queues... Jobs whose lease ran out: back to the queue (attempt counted), or failed when out of tries.
    static let rescue = prelude + """
        local now = now_ms()
        local rescued = 0
        for _, q in ipairs(ARGV) do
          local expired = redis.call('ZRANGEBYSCORE', qk(q, 'running'), '-inf', '(' .. now, 'LIMIT', 0, 1000)
          for _, id in ipairs(expired) do
            local key = jk(id)
            local f = redis.call('HMGET', key, 'attempt', 'max', 'worker', 'priority')
            local err = 'the worker ' .. (f[3] or '?') .. ' stopped renewing its lease (killed or stuck)'
            redis.call('ZREM', qk(q, 'running'), id)
            count(q, 'running', -1)
            redis.call('HDEL', key, 'worker')
            if tonumber(f[1] or 0) < tonumber(f[2] or 0) then
              redis.call('HSET', key, 'status', 'retry', 'error', err, 'available', now)
              redis.call('ZADD', qk(q, 'ready'), ready_score(f[4], id), id)
              count(q, 'retry', 1)
            else
              fail_for_good(id, q, err, now)
            end
            rescued = rescued + 1
          end
          if #expired > 0 then redis.call('PUBLISH', P .. 'wake', q) end
        end
        return rescued
        """

    /// ARGV: queue ('' for all). Flat: status, count, ... summed over the queues.
    static let stats = prelude + """
        local queues = queues_of(ARGV[1])
        local totals = {}
        for _, q in ipairs(queues) do
          local counts = redis.call('HGETALL', qk(q, 'counts'))
          for i = 1, #counts, 2 do totals[counts[i]] = (totals[counts[i]] or 0) + tonumber(counts[i + 1]) end
        end
        local out = {}
        for status, n in pairs(totals) do out[#out + 1] = status; out[#out + 1] = tostring(n) end
        return out
        """

    /// ARGV: queue ('' for all), status ('' for any), limit. The newest jobs: [id, HGETALL of its hash] each.
    static let list = prelude + """
        local queues = queues_of(ARGV[1])
        local status, limit = ARGV[2], tonumber(ARGV[3])
        local sets = {queued = {'ready', 'delayed'}, retry = {'ready', 'delayed'}, running = {'running'},
                      completed = {'completed'}, failed = {'failed'}}
        local parts = status ~= '' and sets[status] or {'ready', 'delayed', 'running', 'completed', 'failed'}
        local ids = {}
        for _, q in ipairs(queues) do
          for _, part in ipairs(parts) do
            for _, id in ipairs(redis.call('ZRANGE', qk(q, part), 0, -1)) do
              if status ~= 'queued' and status ~= 'retry' or redis.call('HGET', jk(id), 'status') == status then
                ids[#ids + 1] = tonumber(id)
              end
            end
          end
        end
        table.sort(ids, function(a, b) return a > b end)
        local out = {}
        for i = 1, math.min(limit, #ids) do out[i] = {tostring(ids[i]), redis.call('HGETALL', jk(ids[i]))} end
        return out
        """

    /// ARGV: id ('' for all), queue ('' for all). Failed jobs back, tries counted anew; how many.
    static let retry = prelude + """
        local ids = {}
        if ARGV[1] ~= '' then
          local q = redis.call('HGET', jk(ARGV[1]), 'queue')
          if q and (ARGV[2] == '' or ARGV[2] == q) then ids[1] = ARGV[1] end
        else
          for _, q in ipairs(queues_of(ARGV[2])) do
            for _, id in ipairs(redis.call('ZRANGE', qk(q, 'failed'), 0, -1)) do ids[#ids + 1] = id end
          end
        end
        local now = now_ms()
        local moved = 0
        for _, id in ipairs(ids) do
          local key = jk(id)
          local f = redis.call('HMGET', key, 'status', 'queue', 'unique', 'priority')
          local q = f[2]
          local held = false
          if f[1] == 'failed' and f[3] then
            local holder = redis.call('HGET', qk(q, 'unique'), f[3])
            if holder and holder ~= id then
              local st = redis.call('HGET', jk(holder), 'status')
              held = st == 'queued' or st == 'retry' or st == 'running'
            end
          end
          if f[1] == 'failed' and not held then
            redis.call('HSET', key, 'status', 'retry', 'attempt', 0, 'available', now)
            redis.call('HDEL', key, 'finished')
            redis.call('ZREM', qk(q, 'failed'), id)
            redis.call('ZADD', qk(q, 'ready'), ready_score(f[4], id), id)
            if f[3] then redis.call('HSET', qk(q, 'unique'), f[3], id) end
            count(q, 'failed', -1)
            count(q, 'retry', 1)
            redis.call('PUBLISH', P .. 'wake', q)
            moved = moved + 1
          end
        end
        return moved
        """

    /// ARGV: queue ('' for all), status ('' for completed and failed), before (ms). Deletes at most
    /// 1,000 finished jobs per call (the caller repeats), so Redis is never blocked for long.
    static let purge = prelude + """
        local queues = queues_of(ARGV[1])
        local statuses = ARGV[2] ~= '' and {ARGV[2]} or {'completed', 'failed'}
        local deleted = 0
        for _, q in ipairs(queues) do
          for _, status in ipairs(statuses) do
            local old = redis.call('ZRANGEBYSCORE', qk(q, status), '-inf', '(' .. ARGV[3], 'LIMIT', 0, 1000 - deleted)
            for _, id in ipairs(old) do redis.call('DEL', jk(id)) end
            if #old > 0 then
              redis.call('ZREM', qk(q, status), unpack(old))
              count(q, status, -#old)
              deleted = deleted + #old
            end
            if deleted >= 1000 then return deleted end
          end
        end
        return deleted
        """
}
