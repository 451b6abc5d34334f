%% erl_echo: the Erlang/OTP baseline for meshbench (issue 16 names Erlang's
%% distribution as a peer Mesh must be ahead of). Two BEAM nodes on
%% 127.0.0.1; the client's processes call a gen_server on the server node
%% with gen_server:call, as an Erlang service calls another node's.
%%   serve()        registers the gen_server `echo` (it answers every call
%%                  with the term it was given) and prints {"node":"..."}
%%   client(Args)   [ServerNode, InFlight, PayloadBytes, WarmupMs,
%%                  DurationMs]: InFlight processes call in a closed loop;
%%                  prints the figures as JSON (tcp_echo's fields) and halts
%% meshbench compiles it with erlc and starts both nodes without epmd
%% (-erl_epmd_port), so nothing outlives a run.
-module(erl_echo).
-behaviour(gen_server).
-export([serve/0, client/1]).
-export([init/1, handle_call/3, handle_cast/2]).

serve() ->
    {ok, _} = gen_server:start({local, echo}, ?MODULE, [], []),
    io:format("{\"node\":\"~s\"}~n", [node()]).

init([]) -> {ok, none}.
handle_call(Term, _From, State) -> {reply, Term, State}.
handle_cast(_, State) -> {noreply, State}.

client([Server, InFlight, Bytes, WarmupMs, DurationMs]) ->
    Node = list_to_atom(Server),
    N = list_to_integer(InFlight),
    Payload = binary:copy(<<"x">>, list_to_integer(Bytes)),
    case net_kernel:connect_node(Node) of
        true -> ok;
        _ -> io:format(standard_error, "cannot reach ~s~n", [Server]),
             halt(1)
    end,
    Start = erlang:monotonic_time(nanosecond),
    From = Start + list_to_integer(WarmupMs) * 1000000,
    Seconds = list_to_integer(DurationMs) / 1000,
    End = From + list_to_integer(DurationMs) * 1000000,
    Self = self(),
    Call = fun() -> gen_server:call({echo, Node}, Payload, 10000) end,
    [spawn_link(fun() -> Self ! {done, loop(Call, Payload, From, End, [], 0,
                                            "")} end)
     || _ <- lists:seq(1, N)],
    {Lats, Failed, Error} = collect(N, [], 0, ""),
    io:format("~s~n", [figures(lists:sort(Lats), Failed, Error, Seconds)]),
    halt(case Error of "" -> 0; _ -> 1 end).

%% One caller: call, time it, call again until the measured period ends.
loop(Call, Payload, From, End, Lats, Failed, Error) ->
    T0 = erlang:monotonic_time(nanosecond),
    Answer = try Call() catch _:Why -> {error, Why} end,
    T1 = erlang:monotonic_time(nanosecond),
    {Lats2, Failed2, Error2} =
        case Answer of
            Payload when T0 >= From, T1 < End -> {[T1 - T0 | Lats], Failed,
                                                   Error};
            Payload -> {Lats, Failed, Error};
            Other -> {Lats, Failed + 1, first(Error, Other)}
        end,
    case T1 < End of
        true -> loop(Call, Payload, From, End, Lats2, Failed2, Error2);
        false -> {Lats2, Failed2, Error2}
    end.

first("", Other) -> lists:flatten(io_lib:format("~p", [Other]));
first(Error, _) -> Error.

keep("", E) -> E;
keep(Error, _) -> Error.

collect(0, Lats, Failed, Error) -> {Lats, Failed, Error};
collect(N, Lats, Failed, Error) ->
    receive
        {done, {L, F, E}} ->
            collect(N - 1, L ++ Lats, Failed + F, keep(Error, E))
    end.

%% The exact quantile as meshbench's load driver takes it: the element at
%% rank q * (count - 1) of the sorted latencies.
quantile([], _) -> 0;
quantile(Sorted, Q) ->
    lists:nth(trunc(Q * (length(Sorted) - 1)) + 1, Sorted).

figures(Sorted, Failed, Error, Seconds) ->
    Ok = length(Sorted),
    Us = fun(Ns) -> Ns / 1000 end,
    Mean = case Ok of 0 -> 0; _ -> lists:sum(Sorted) / Ok / 1000 end,
    Max = case Sorted of [] -> 0; _ -> lists:last(Sorted) end,
    io_lib:format(
      "{\"requests_per_s\":~.3f,\"ok\":~b,\"failed\":~b,\"p50_us\":~.3f,"
      "\"p90_us\":~.3f,\"p99_us\":~.3f,\"max_us\":~.3f,\"mean_us\":~.3f,"
      "\"first_error\":\"~s\"}",
      [Ok / Seconds, Ok, Failed, Us(quantile(Sorted, 0.5)) * 1.0,
       Us(quantile(Sorted, 0.9)) * 1.0, Us(quantile(Sorted, 0.99)) * 1.0,
       Us(Max) * 1.0, Mean * 1.0, json_text(Error)]).

%% Quotes and backslashes out of an error text, so the line stays JSON.
json_text(Text) ->
    [C || C <- Text, C =/= $", C =/= $\\, C >= 32].
