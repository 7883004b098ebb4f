using System.Collections;
using Crm.Ctl;

var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
    .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
return await CtlApp.RunAsync(args, Console.Out, Console.Error, environment);
