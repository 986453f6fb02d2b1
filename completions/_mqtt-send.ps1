
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mqtt-send' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mqtt-send'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mqtt-send' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443) with a path (/mqtt by default), unix:///PATH, or host[:port] [config: broker] [default: tcp://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443) with a path (/mqtt by default), unix:///PATH, or host[:port] [config: broker] [default: tcp://localhost:1883]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Broker host name or IP address, in place of the broker URL''s (scheme and port stay)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Broker host name or IP address, in place of the broker URL''s (scheme and port stay)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Broker port, in place of the broker URL''s')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Broker port, in place of the broker URL''s')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]')
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Client id: PREFIX and the process id (mosquitto_pub''s -I)')
            [CompletionResult]::new('--id-prefix', '--id-prefix', [CompletionResultType]::ParameterName, 'Client id: PREFIX and the process id (mosquitto_pub''s -I)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'mosquitto_pub''s URL, mqtt(s)://[USER@]HOST[:PORT]/TOPIC: the broker, username and topic (a password in it is refused: ps would show it)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'mosquitto_pub''s URL, mqtt(s)://[USER@]HOST[:PORT]/TOPIC: the broker, username and topic (a password in it is refused: ps would show it)')
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'Connect to the broker''s Unix socket PATH instead of TCP')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Seconds between keep-alive pings the broker may expect; 0 turns them off [config: keepalive] [default: the --timeout, at least 60 s]')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Seconds between keep-alive pings the broker may expect; 0 turns them off [config: keepalive] [default: the --timeout, at least 60 s]')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'MQTT 5 Session Expiry Interval in seconds; -1: the session never expires [config: session-expiry-interval] [default: 0: the session ends with the connection]')
            [CompletionResult]::new('--session-expiry-interval', '--session-expiry-interval', [CompletionResultType]::ParameterName, 'MQTT 5 Session Expiry Interval in seconds; -1: the session never expires [config: session-expiry-interval] [default: 0: the session ends with the connection]')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'MQTT version: 5, 3.1.1 or 3.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]')
            [CompletionResult]::new('--protocol-version', '--protocol-version', [CompletionResultType]::ParameterName, 'MQTT version: 5, 3.1.1 or 3.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'The message [config: content]')
            [CompletionResult]::new('--content', '--content', [CompletionResultType]::ParameterName, 'The message [config: content]')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'The message [config: content]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read the message from a file, byte for byte; - reads stdin')
            [CompletionResult]::new('--content-file', '--content-file', [CompletionResultType]::ParameterName, 'Read the message from a file, byte for byte; - reads stdin')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read the message from a file, byte for byte; - reads stdin')
            [CompletionResult]::new('--repeat', '--repeat', [CompletionResultType]::ParameterName, 'Publish the message N times over the connection [config: repeat] [default: 1]')
            [CompletionResult]::new('--repeat-delay', '--repeat-delay', [CompletionResultType]::ParameterName, 'Seconds to wait between repeated messages [config: repeat-delay] [default: 0]')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Ask the broker to retain the message [config: retain] [default: false]')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Ask the broker to retain the message [config: retain] [default: false]')
            [CompletionResult]::new('--user-property', '--user-property', [CompletionResultType]::ParameterName, 'A user property, KEY=VALUE; repeatable, in order, a key may repeat [config: user-property]')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'Content type of the message (a MIME type, such as application/json) [config: content-type]')
            [CompletionResult]::new('--message-expiry', '--message-expiry', [CompletionResultType]::ParameterName, 'Seconds the broker keeps the message for subscribers that have not received it yet [config: message-expiry]')
            [CompletionResult]::new('--response-topic', '--response-topic', [CompletionResultType]::ParameterName, 'Topic for a response to the message (no + or #) [config: response-topic]')
            [CompletionResult]::new('--correlation-data', '--correlation-data', [CompletionResultType]::ParameterName, 'Correlation data for a response: the bytes of TEXT [config: correlation-data]')
            [CompletionResult]::new('--payload-format', '--payload-format', [CompletionResultType]::ParameterName, 'utf8: the payload is UTF-8 text (checked before sending) [config: payload-format]')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'mosquitto_pub''s -D: a property of the CONNECT, PUBLISH, will or DISCONNECT packet, e.g. -D publish user-property KEY VALUE; repeatable')
            [CompletionResult]::new('--property', '--property', [CompletionResultType]::ParameterName, 'mosquitto_pub''s -D: a property of the CONNECT, PUBLISH, will or DISCONNECT packet, e.g. -D publish user-property KEY VALUE; repeatable')
            [CompletionResult]::new('--will-topic', '--will-topic', [CompletionResultType]::ParameterName, 'Topic of the will: the message the broker publishes if mqtt-send vanishes without disconnecting [config: will-topic]')
            [CompletionResult]::new('--will-payload', '--will-payload', [CompletionResultType]::ParameterName, 'The will''s message (empty if not given) [config: will-payload]')
            [CompletionResult]::new('--will-qos', '--will-qos', [CompletionResultType]::ParameterName, 'The will''s QoS: 0, 1 or 2 [config: will-qos] [default: 0]')
            [CompletionResult]::new('--will-retain', '--will-retain', [CompletionResultType]::ParameterName, 'Ask the broker to retain the will [config: will-retain] [default: false]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Username [config: username]')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'Username [config: username]')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]')
            [CompletionResult]::new('--pw', '--pw', [CompletionResultType]::ParameterName, 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of a file')
            [CompletionResult]::new('--root-ca-crt', '--root-ca-crt', [CompletionResultType]::ParameterName, 'PEM CA bundle that signs the broker''s certificate [config: root-ca-crt] [default: the system trust store]')
            [CompletionResult]::new('--cafile', '--cafile', [CompletionResultType]::ParameterName, 'PEM CA bundle that signs the broker''s certificate [config: root-ca-crt] [default: the system trust store]')
            [CompletionResult]::new('--capath', '--capath', [CompletionResultType]::ParameterName, 'Directory of PEM CA certificates that sign the broker''s certificate [config: capath]')
            [CompletionResult]::new('--tls-use-os-certs', '--tls-use-os-certs', [CompletionResultType]::ParameterName, 'TLS with the system trust store (besides --root-ca-crt or --capath, if given) [config: tls-use-os-certs] [default: false]')
            [CompletionResult]::new('--certificate', '--certificate', [CompletionResultType]::ParameterName, 'PEM client certificate (chain); on the command line it implies --use-certificate [config: certificate]')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'PEM client certificate (chain); on the command line it implies --use-certificate [config: certificate]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]')
            [CompletionResult]::new('--use-certificate', '--use-certificate', [CompletionResultType]::ParameterName, 'Authenticate with the client certificate [config: use-certificate] [default: false]')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate, mqtt with --aws-authorizer, http/1.1 for wss://]')
            [CompletionResult]::new('--tls-alpn', '--tls-alpn', [CompletionResultType]::ParameterName, 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate, mqtt with --aws-authorizer, http/1.1 for wss://]')
            [CompletionResult]::new('--tls-version', '--tls-version', [CompletionResultType]::ParameterName, 'The oldest TLS version to accept: tlsv1.3, or tlsv1.2 (1.2 and 1.3; tlsv1.1 means the same, as mqtt-send never speaks older than 1.2) [config: tls-version]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'HTTP proxy to tunnel through (CONNECT): http://[user:password@]host:port; without it, HTTPS_PROXY (TLS, wss), HTTP_PROXY (ws), ALL_PROXY (all) and NO_PROXY apply, except to loopback brokers [config: proxy]')
            [CompletionResult]::new('--aws-sigv4', '--aws-sigv4', [CompletionResultType]::ParameterName, 'wss:// only: sign the WebSocket URL with AWS SigV4 (AWS IoT Core with IAM credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or AWS_PROFILE''s static keys; region from AWS_REGION or the endpoint) [config: aws-sigv4] [default: false]')
            [CompletionResult]::new('--aws-authorizer', '--aws-authorizer', [CompletionResultType]::ParameterName, 'AWS IoT custom authorizer to name in the username (offers ALPN mqtt on port 443) [config: aws-authorizer]')
            [CompletionResult]::new('--aws-authorizer-token', '--aws-authorizer-token', [CompletionResultType]::ParameterName, 'The token the custom authorizer reads, as its token key name and value [config: aws-authorizer-token]')
            [CompletionResult]::new('--aws-authorizer-signature', '--aws-authorizer-signature', [CompletionResultType]::ParameterName, 'The token''s signature, for an authorizer with token signing on [config: aws-authorizer-signature]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'One deadline for the whole run, in seconds [config: timeout] [default: 30]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retry connection failures where nothing was published, at most 1000 times [config: retries] [default: 0]')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Batch: every line of the content is one message to --topic, over one connection; empty lines are skipped [config: lines] [default: false]')
            [CompletionResult]::new('--ndjson', '--ndjson', [CompletionResultType]::ParameterName, 'Batch: every line is a JSON message {"topic","content","qos","retain"} that may set the MQTT 5 properties too (by their config keys); missing fields come from the flags; empty lines are skipped [config: ndjson] [default: false]')
            [CompletionResult]::new('--shadow', '--shadow', [CompletionResultType]::ParameterName, 'AWS IoT device shadow: update, get or delete the shadow of --thing and wait for the shadow service''s answer (exit 8 when it rejects the request); the topic is derived [config: shadow]')
            [CompletionResult]::new('--thing', '--thing', [CompletionResultType]::ParameterName, 'The thing whose shadow --shadow works on [config: thing] [default: the client id]')
            [CompletionResult]::new('--shadow-name', '--shadow-name', [CompletionResultType]::ParameterName, 'A named shadow of --thing (without it: the classic shadow) [config: shadow-name]')
            [CompletionResult]::new('--wait-response', '--wait-response', [CompletionResultType]::ParameterName, 'Subscribe to --response-topic first, publish with it and a correlation data (MQTT 5: --correlation-data, or a fresh one), and wait for the reply; it goes into the meta object [config: wait-response] [default: false]')
            [CompletionResult]::new('--nodelay', '--nodelay', [CompletionResultType]::ParameterName, 'Accepted for mosquitto_pub: mqtt-send always turns off Nagle''s algorithm')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The message is all of stdin, which must not be empty (-f - takes it as it is)')
            [CompletionResult]::new('--stdin-file', '--stdin-file', [CompletionResultType]::ParameterName, 'The message is all of stdin, which must not be empty (-f - takes it as it is)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Every line of stdin is a message (--lines -f -)')
            [CompletionResult]::new('--stdin-line', '--stdin-line', [CompletionResultType]::ParameterName, 'Every line of stdin is a message (--lines -f -)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The message is empty (zero bytes)')
            [CompletionResult]::new('--null-message', '--null-message', [CompletionResultType]::ParameterName, 'The message is empty (zero bytes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log protocol events and decisions on stderr (never a secret)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Log protocol events and decisions on stderr (never a secret)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log protocol events and decisions on stderr (never a secret)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log protocol events and decisions on stderr (never a secret)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing, neither the meta object nor errors: the exit status tells')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
