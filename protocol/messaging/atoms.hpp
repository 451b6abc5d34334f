#pragma once

// Every atom Mesh uses, in one place. An atom text has at most 10 characters
// of letters, digits and underscores (CAF 0.17 turns anything else into a
// space without a word). `mesh::atom::serve` is the type, `serve_v` a value.

#include <caf/type_id.hpp>

#define MESH_ADD_ATOM(name) CAF_ADD_ATOM(mesh, mesh::atom, name, #name)

// -- requests and replies -------------------------------------------------------
MESH_ADD_ATOM(serve)
MESH_ADD_ATOM(dispatch)
MESH_ADD_ATOM(handle)
MESH_ADD_ATOM(console)
MESH_ADD_ATOM(router)

// -- registry -------------------------------------------------------------------
MESH_ADD_ATOM(add)
MESH_ADD_ATOM(remove)
MESH_ADD_ATOM(handlers)
MESH_ADD_ATOM(validator)
MESH_ADD_ATOM(namespaces)
MESH_ADD_ATOM(subscribe)
MESH_ADD_ATOM(update)

// -- executors and lifecycle ----------------------------------------------------
MESH_ADD_ATOM(job_done)
MESH_ADD_ATOM(sweep)
MESH_ADD_ATOM(drain)
MESH_ADD_ATOM(retire)
MESH_ADD_ATOM(stats)
MESH_ADD_ATOM(get)
MESH_ADD_ATOM(kill) // tests: the supervisor kills a child on purpose

// -- cluster --------------------------------------------------------------------
MESH_ADD_ATOM(hello)
MESH_ADD_ATOM(heartbeat)
MESH_ADD_ATOM(announce)
MESH_ADD_ATOM(leave)
MESH_ADD_ATOM(connect)
MESH_ADD_ATOM(dial)
MESH_ADD_ATOM(tick)
MESH_ADD_ATOM(peers)

// -- strategies -----------------------------------------------------------------
MESH_ADD_ATOM(outcome)
MESH_ADD_ATOM(manifests)
MESH_ADD_ATOM(reload)
MESH_ADD_ATOM(evidence)
MESH_ADD_ATOM(flush)

// -- topics ---------------------------------------------------------------------
MESH_ADD_ATOM(publish)
MESH_ADD_ATOM(routes)
MESH_ADD_ATOM(dispatcher)
MESH_ADD_ATOM(route)
MESH_ADD_ATOM(freeze)
MESH_ADD_ATOM(records)
MESH_ADD_ATOM(metrics)
MESH_ADD_ATOM(run)
// -- durable tasks --------------------------------------------------------------
MESH_ADD_ATOM(emit)
MESH_ADD_ATOM(jobs)
MESH_ADD_ATOM(tasks)
MESH_ADD_ATOM(dead)
MESH_ADD_ATOM(revive)
MESH_ADD_ATOM(purge)
MESH_ADD_ATOM(pause)
MESH_ADD_ATOM(policies)
MESH_ADD_ATOM(hooks)
MESH_ADD_ATOM(breakers)
MESH_ADD_ATOM(idempotent)
// -- workflows ------------------------------------------------------------------
MESH_ADD_ATOM(workflows)
MESH_ADD_ATOM(runs)
MESH_ADD_ATOM(cancel)
// -- traces ---------------------------------------------------------------------
MESH_ADD_ATOM(trace)
MESH_ADD_ATOM(batch) // data-plane batches (issue 16)

#undef MESH_ADD_ATOM
