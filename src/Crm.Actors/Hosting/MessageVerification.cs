using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Serialization;

namespace Crm.Actors.Hosting;

/// <summary>
/// Akka's <c>akka.actor.serialize-messages</c> serializes every message as if it crossed a node, so that one that
/// cannot (a Props, a delegate, a store) fails in every test that sends it (the cluster tests turn it on). It knows
/// only <see cref="INoSerializationVerificationNeeded"/> as a sign of a message meant to stay local, which the
/// libraries' own local messages (the SQL journal's write acknowledgements, holding a Task) do not carry: those are
/// bound here to <see cref="LocalOnlySerializer"/>, which hands the same object back. None of them ever crosses a node.
/// </summary>
public static class MessageVerification
{
    public static readonly Config LocalOnlyBindings = ConfigurationFactory.ParseString("""
        akka.actor {
          serializers.crm-local-only = "Crm.Actors.Hosting.LocalOnlySerializer, Crm.Actors"
          serialization-identifiers."Crm.Actors.Hosting.LocalOnlySerializer, Crm.Actors" = 9117
          serialization-bindings {
            "Akka.Persistence.Sql.Journal.Types.WriteFinished, Akka.Persistence.Sql" = crm-local-only
            # Published to local subscribers only (the split-brain resolver, the cluster's read view); its
            # immutable dictionaries do not survive Newtonsoft.Json, so the resolver would never see a change.
            "Akka.Cluster.ClusterEvent+ReachabilityChanged, Akka.Cluster" = crm-local-only
          }
        }
        """);

    public static AkkaConfigurationBuilder WithMessageVerification(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(LocalOnlyBindings, HoconAddMode.Append);
}

/// <summary>
/// For messages that never leave their node: "serializes" an object to a ticket and gives the same object back for
/// it, so that <c>serialize-messages</c> passes them as they are. Tickets are redeemed once.
/// </summary>
public sealed class LocalOnlySerializer(ExtendedActorSystem system) : Serializer(system)
{
    private static readonly ConcurrentDictionary<Guid, object> Held = new();

    public override int Identifier => 9117;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        var ticket = Guid.NewGuid();
        Held[ticket] = obj;
        return ticket.ToByteArray();
    }

    public override object FromBinary(byte[] bytes, Type? type) =>
        Held.TryRemove(new Guid(bytes), out var obj) ? obj
        : throw new System.Runtime.Serialization.SerializationException($"{type?.Name ?? "a message"} is local to its node: it cannot cross to another");
}
