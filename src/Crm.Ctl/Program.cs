using Crm.Ctl;

// The first Ctrl-C ends `tail -f` (or a pending request) cleanly; a second one kills the process as usual.
using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};
var environment = new Dictionary<string, string?>
{
    [CtlApp.UrlVariable] = Environment.GetEnvironmentVariable(CtlApp.UrlVariable),
    [CtlApp.TokenVariable] = Environment.GetEnvironmentVariable(CtlApp.TokenVariable),
    [AdminConnection.TokenFileVariable] = Environment.GetEnvironmentVariable(AdminConnection.TokenFileVariable),
    [AdminConnection.CaVariable] = Environment.GetEnvironmentVariable(AdminConnection.CaVariable),
};
return await CtlApp.RunAsync(args, Console.Out, Console.Error, environment, interrupted.Token);
