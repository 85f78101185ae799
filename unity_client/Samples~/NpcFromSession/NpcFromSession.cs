using AvatarDriver;
using AvatarDriver.Protocol;
using UnityEngine;

/// <summary>
/// Sample: an NPC that mirrors a user's live session. Put it on the NPC's root with a
/// RigProfile filled from the NPC (Assets > Create > Avatar Driver > Rig Profile, then
/// "Fill from avatar"), enter the session id shown in the web viewer's HUD, and press Play.
/// </summary>
public sealed class NpcFromSession : MonoBehaviour
{
    [Tooltip("The avatar-driver server.")]
    public string serverUrl = "ws://127.0.0.1:8000";
    [Tooltip("The user's session to follow (the web viewer shows it).")]
    public string sessionId;
    [Tooltip("The NPC's rig profile.")]
    public RigProfile profile;

    void Awake()
    {
        // The client connects in its Start, after these fields are set.
        var client = gameObject.AddComponent<AvatarDriverClient>();
        client.serverUrl = serverUrl;
        client.mode = ConnectionMode.Watch;
        client.sessionId = sessionId;
        client.profile = profile;
        client.avatarRoot = transform;
        client.verbose = true;
    }
}
