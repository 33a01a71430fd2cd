//! The caller's profile, picture and stream key; public profiles; the superadmin and the admin list.

mod common;

use std::io::Cursor;

use common::{PASSWORD, login, spawn_app, spawn_app_with, with_token};
use livestreamer_proto::auth::{
    AuthenticateStreamKeyRequest, ChangeRoleRequest, DeleteMeRequest, DeleteProfilePictureRequest,
    GetMeRequest, GetProfilePictureRequest, GetPublicProfileRequest, GetStreamKeyRequest,
    ListUsersRequest, RotateStreamKeyRequest, SetProfilePictureRequest, UpdateMeRequest,
};
use tonic::Code;

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut data = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([10, 200, 90]))
        .write_to(&mut Cursor::new(&mut data), image::ImageFormat::Png)
        .unwrap();
    data
}

#[tokio::test]
async fn a_user_changes_their_profile_and_every_invalid_field_is_named() {
    let mut app = spawn_app().await;
    let token = app.signed_in("editor").await;
    app.confirmed_user("occupied").await;

    let update = UpdateMeRequest {
        username: Some("Editor.2".into()),
        display_name: Some("  Éditeur 🎛 ".into()),
        about: Some("Techno; '; DROP TABLE auth.users; --\nline two".into()),
        website_url: Some("https://editor.example/sets?a=1&b=2".into()),
    };
    let user = app
        .client
        .update_me(with_token(&token, update))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (user.username.as_str(), user.display_name.as_str()),
        ("Editor.2", "Éditeur 🎛")
    );
    assert_eq!(user.about, "Techno; '; DROP TABLE auth.users; --\nline two");
    assert_eq!(user.website_url, "https://editor.example/sets?a=1&b=2");
    app.client
        .sign_in(login("editor.2", PASSWORD))
        .await
        .expect("the new name signs in");

    let only_about = UpdateMeRequest {
        about: Some(String::new()),
        ..Default::default()
    };
    let user = app
        .client
        .update_me(with_token(&token, only_about))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (user.about.as_str(), user.display_name.as_str()),
        ("", "Éditeur 🎛")
    );

    let bad = UpdateMeRequest {
        username: Some("no spaces".into()),
        display_name: Some("x".repeat(51)),
        about: Some("y".repeat(801)),
        website_url: Some("javascript:alert(1)".into()),
    };
    let error = app
        .client
        .update_me(with_token(&token, bad))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    for field in ["username", "displayName", "about", "websiteUrl"] {
        assert!(error.message().contains(field), "{}", error.message());
    }
    let taken = UpdateMeRequest {
        username: Some("OCCUPIED".into()),
        ..Default::default()
    };
    let error = app
        .client
        .update_me(with_token(&token, taken))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn a_picture_is_reencoded_served_and_reset_to_the_default() {
    let mut app = spawn_app().await;
    let token = app.signed_in("painter").await;
    let me = app
        .client
        .get_me(with_token(&token, GetMeRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.profile_picture_url, "/api/v1/users/painter/picture");

    let set = SetProfilePictureRequest {
        image: png(2000, 1000),
    };
    let user = app
        .client
        .set_profile_picture(with_token(&token, set))
        .await
        .unwrap()
        .into_inner();
    assert!(
        user.profile_picture_url
            .starts_with("/api/v1/users/painter/picture?v="),
        "{}",
        user.profile_picture_url
    );
    let get = || GetProfilePictureRequest {
        username: "PAINTER".into(),
    };
    let picture = app
        .client
        .get_profile_picture(get())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(picture.content_type, "image/jpeg");
    let decoded = image::load_from_memory(&picture.data).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (512, 256));

    for (bad, status) in [
        (b"GIF89a....".to_vec(), "415"),
        (vec![0xFF; 3 * 1024 * 1024 + 1], "413"),
    ] {
        let error = app
            .client
            .set_profile_picture(with_token(&token, SetProfilePictureRequest { image: bad }))
            .await
            .unwrap_err();
        assert_eq!(error.metadata().get("x-http-status").unwrap(), status);
    }

    app.client
        .delete_profile_picture(with_token(&token, DeleteProfilePictureRequest {}))
        .await
        .unwrap();
    let picture = app
        .client
        .get_profile_picture(get())
        .await
        .unwrap()
        .into_inner();
    assert!(picture.data.is_empty(), "the default picture again");
    let unknown = GetProfilePictureRequest {
        username: "nobody".into(),
    };
    let error = app.client.get_profile_picture(unknown).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
}

#[tokio::test]
async fn public_profiles_show_no_email_or_permissions_and_hide_unknown_users() {
    let mut app = spawn_app().await;
    app.signed_in("public").await;
    let profile = app
        .client
        .get_public_profile(GetPublicProfileRequest {
            username: "Public".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(profile.username, "public");
    assert!(!format!("{profile:?}").contains("@example.com"));
    for unknown in ["nobody", "' OR 1=1 --", "ü"] {
        let error = app
            .client
            .get_public_profile(GetPublicProfileRequest {
                username: unknown.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound, "{unknown}");
    }
}

#[tokio::test]
async fn a_stream_key_is_shown_once_and_rotating_it_locks_the_old_one_out() {
    let mut app = spawn_app().await;
    let token = app.signed_in("keyholder").await;
    let none = app
        .client
        .get_stream_key(with_token(&token, GetStreamKeyRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((none.stream_key, none.created_at_ms), (None, None));

    let mut keys = Vec::new();
    for _ in 0..2 {
        let rotated = app
            .client
            .rotate_stream_key(with_token(&token, RotateStreamKeyRequest {}))
            .await
            .unwrap()
            .into_inner();
        keys.push(rotated.stream_key.unwrap());
    }
    let shown = app
        .client
        .get_stream_key(with_token(&token, GetStreamKeyRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(shown.stream_key.is_none() && shown.created_at_ms.is_some());

    let relay = |key: &str| AuthenticateStreamKeyRequest {
        username: "KeyHolder".into(),
        stream_key: key.into(),
    };
    let old = app.client.authenticate_stream_key(relay(&keys[0])).await;
    assert_eq!(old.unwrap_err().code(), Code::Unauthenticated);
    let current = app
        .client
        .authenticate_stream_key(relay(&keys[1]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.user.unwrap().username, "keyholder");
    assert!(!current.internal_token.is_empty());
}

#[tokio::test]
async fn the_superadmin_lists_every_user_by_pages_and_changes_roles() {
    let mut app = spawn_app_with(|config| {
        let env = service_kit::config::Env::new("AUTHTEST_UNSET");
        assert!(
            auth::superadmin::Superadmin::from_env(&env)
                .unwrap()
                .is_none()
        );
        config.superadmin = Some(auth::superadmin::Superadmin {
            username: auth::domain::Username::parse("root").unwrap(),
            email: auth::domain::Email::parse("root@example.com").unwrap(),
            password: "the root password".into(),
        });
    })
    .await;
    let admin = app.client.sign_in(login("root", "the root password")).await;
    let admin_session = admin.unwrap().into_inner().session_id;
    let admin_token = app.token(&admin_session).await.unwrap();
    for name in ["first", "second", "third"] {
        app.confirmed_user(name).await;
    }
    let streamer_session = app.session("first").await;
    let streamer = app.token(&streamer_session).await.unwrap();
    let gone = app.signed_in("gone").await;
    app.client
        .delete_me(with_token(&gone, DeleteMeRequest {}))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = ListUsersRequest {
            limit: 2,
            cursor: cursor.clone(),
        };
        let page = app
            .client
            .list_users(with_token(&admin_token, page))
            .await
            .unwrap()
            .into_inner();
        assert!(page.users.len() <= 2);
        seen.extend(page.users);
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    let names: Vec<&str> = seen.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["root", "first", "second", "third", "gone"]);
    assert_eq!(seen[0].role, "superadmin");
    assert!(seen[4].is_deleted && seen[4].deleted_at_ms.is_some());

    let denied = app
        .client
        .list_users(with_token(&streamer, ListUsersRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    for bad in [
        ListUsersRequest {
            limit: 51,
            cursor: String::new(),
        },
        ListUsersRequest {
            limit: 5,
            cursor: "forged".into(),
        },
    ] {
        let error = app.client.list_users(with_token(&admin_token, bad)).await;
        assert_eq!(error.unwrap_err().code(), Code::InvalidArgument);
    }

    let promote = ChangeRoleRequest {
        user_id: seen[1].user_id,
        role: "superadmin".into(),
    };
    let promoted = app
        .client
        .change_role(with_token(&admin_token, promote))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(promoted.role, "superadmin");
    assert_eq!(
        app.token(&streamer_session).await.unwrap_err().code(),
        Code::Unauthenticated,
        "a role change revokes the user's sessions"
    );
    let bad_role = ChangeRoleRequest {
        user_id: seen[2].user_id,
        role: "god".into(),
    };
    let error = app
        .client
        .change_role(with_token(&admin_token, bad_role))
        .await;
    assert_eq!(error.unwrap_err().code(), Code::InvalidArgument);
}
